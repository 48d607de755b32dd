//! A fast reader for the everyday YAML that manifests are written in: block mappings and
//! sequences, flow collections on one line, plain and quoted scalars on one line, and
//! literal or folded block scalars, without tabs. It builds the tree, spans
//! included, that saphyr's events build through `Builder`, several times faster: the YAML
//! scanner was the largest cost of loading a large project. Anything else steps aside
//! (`None`) and saphyr reads the file: anchors, tags, multi-line plain or quoted scalars,
//! several documents, and every malformed input, so all YAML errors stay saphyr's. The tests
//! compare the two readers on every manifest of the repository and on thousands of
//! mutations of them.

use std::cell::Cell;

use compact_str::CompactString;

use super::{has_duplicate_keys, key_text, MAX_DEPTH, MAX_NODES};
use crate::manifest::node::{resolve_plain, Entry, Node, NodeValue};
use crate::manifest::source::Span;

/// The tree of a one-document file, and whether a mapping in it has a key twice; `None`
/// when the file is not in the subset.
pub(super) fn parse(text: &str) -> Option<(Node, bool)> {
    // Tabs, carriage returns, control characters and byte order marks have rules of their
    // own: saphyr reads such files.
    if has_special_characters(text.as_bytes()) || text.contains('\u{feff}') {
        return None;
    }
    let mut reader = Reader {
        text,
        ascii: text.is_ascii(),
        counted: Cell::new((0, 0)),
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
        nodes: 0,
        depth: 0,
        open_entries: Vec::new(),
        open_items: Vec::new(),
        duplicate_keys: false,
    };
    let Next::Indent(indent) = reader.skip_to_content()? else {
        return None;
    };
    let root = reader.block_node(indent, false)?;
    match reader.skip_to_content()? {
        Next::Eof => Some((root, reader.duplicate_keys)),
        Next::Indent(_) => None,
    }
}

/// Whether `bytes` has a control character other than a line break.
fn has_special_characters(bytes: &[u8]) -> bool {
    crate::bytes::any_byte(bytes, |b| (b < b' ') & (b != b'\n') | (b == 0x7f))
}

/// What follows blank and comment lines: the indentation of the next content, or the end.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    Indent(usize),
    Eof,
}

/// Which indicator a block value follows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Indicator {
    /// `key:`
    Colon,
    /// `- ` of a sequence entry.
    Dash,
}

/// How a block scalar ends (`|`, `|-`, `|+`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Chomping {
    Clip,
    Strip,
    Keep,
}

/// A 1-based line and column.
type Mark = (usize, usize);

struct Reader<'t> {
    text: &'t str,
    /// Columns count characters; in ASCII text, bytes.
    ascii: bool,
    /// The last position whose column was counted, and that column (0-based).
    counted: Cell<(usize, usize)>,
    bytes: &'t [u8],
    pos: usize,
    /// The 1-based line of `pos`, and where it starts.
    line: usize,
    line_start: usize,
    nodes: usize,
    depth: usize,
    /// The entries and items of the collections being read, innermost last: each collection
    /// takes exactly its own when it closes, instead of growing a vector of its own.
    open_entries: Vec<Entry>,
    open_items: Vec<Node>,
    /// Set when a mapping has a key twice (checked as each closes, while its entries are at
    /// hand), so that only then is the tree searched for them, to report them.
    duplicate_keys: bool,
}

/// Where a reader is, to come back to after looking ahead. The stacks of open entries and
/// items are not part of it: looking ahead (at a key, over blank lines) pushes onto neither.
#[derive(Clone, Copy)]
struct Position {
    pos: usize,
    line: usize,
    line_start: usize,
    nodes: usize,
    depth: usize,
}

fn span((line, col): Mark, (end_line, end_col): Mark) -> Span {
    Span::new(line, col, end_line, end_col)
}

fn is_blank_or_end(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | 0)
}

fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'t> Reader<'t> {
    fn position(&self) -> Position {
        Position {
            pos: self.pos,
            line: self.line,
            line_start: self.line_start,
            nodes: self.nodes,
            depth: self.depth,
        }
    }

    fn go_back(&mut self, to: Position) {
        self.pos = to.pos;
        self.line = to.line;
        self.line_start = to.line_start;
        self.nodes = to.nodes;
        self.depth = to.depth;
    }

    /// Whether a mapping key starts at `pos` (looking ahead, without moving).
    fn key_ahead(&mut self) -> bool {
        let here = self.position();
        let open = (self.open_entries.len(), self.open_items.len());
        let key = self.block_key().is_some();
        debug_assert_eq!(open, (self.open_entries.len(), self.open_items.len()));
        self.go_back(here);
        key
    }

    /// The byte at `pos`, 0 at the end.
    fn at(&self, pos: usize) -> u8 {
        self.bytes.get(pos).copied().unwrap_or(0)
    }

    fn here(&self) -> u8 {
        self.at(self.pos)
    }

    /// The byte before `pos`, a line break at the start.
    fn prev(&self) -> u8 {
        self.pos.checked_sub(1).map_or(b'\n', |p| self.at(p))
    }

    fn mark(&self) -> Mark {
        if self.ascii {
            return (self.line, self.pos - self.line_start + 1);
        }
        // Counted on from the last mark of the line, so that a long line is counted once.
        let (mut from, mut column) = self.counted.get();
        if from < self.line_start || from > self.pos {
            (from, column) = (self.line_start, 0);
        }
        // Characters are the bytes that do not continue one.
        column += self.bytes[from..self.pos]
            .iter()
            .filter(|&&b| b & 0xc0 != 0x80)
            .count();
        self.counted.set((self.pos, column));
        (self.line, column + 1)
    }

    /// Where saphyr ends a block collection indented by `indent`: at the next token. At the
    /// end of the text, collections indented deeper than the last line's end close there,
    /// the others at the start of the line after it.
    fn block_end(&self, indent: usize) -> Mark {
        let (line, col) = self.mark();
        if self.pos < self.bytes.len() || indent >= col || col == 1 {
            (line, col)
        } else {
            (line + 1, 1)
        }
    }

    fn node(&mut self, value: NodeValue, span: Span) -> Option<Node> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES).then_some(Node { value, span })
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        while self.here() == b' ' {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Moves past blank and comment lines to the first character of the next content line.
    /// Must be called at the end of a line, or anywhere in the indentation of a line.
    fn skip_to_content(&mut self) -> Option<Next> {
        if !self.bytes[self.line_start..self.pos]
            .iter()
            .all(|&b| b == b' ')
            && !matches!(self.here(), b'\n' | 0)
        {
            return None;
        }
        loop {
            match self.here() {
                0 => return Some(Next::Eof),
                b'\n' => self.newline(),
                b' ' => {
                    self.skip_spaces();
                }
                b'#' if matches!(self.prev(), b' ' | b'\n') => self.skip_comment(),
                _ => {
                    let indent = self.pos - self.line_start;
                    let rest = &self.bytes[self.pos..];
                    // Document markers and directives: saphyr's.
                    if indent == 0
                        && (rest.starts_with(b"---") || rest.starts_with(b"...") || rest[0] == b'%')
                    {
                        return None;
                    }
                    return Some(Next::Indent(indent));
                }
            }
        }
    }

    fn skip_comment(&mut self) {
        while !matches!(self.here(), b'\n' | 0) {
            self.pos += 1;
        }
    }

    /// What saphyr skips after a quoted scalar or a closing bracket, as part of its token:
    /// spaces and a comment after them.
    fn skip_ws_to_eol(&mut self) -> Option<()> {
        let spaces = self.skip_spaces();
        if self.here() == b'#' {
            if spaces == 0 {
                return None;
            }
            self.skip_comment();
        }
        Some(())
    }

    /// Spaces and a comment to the end of the line; anything else is not in the subset.
    fn end_of_line(&mut self) -> Option<()> {
        let spaces = self.skip_spaces();
        match self.here() {
            b'#' if spaces > 0 => self.skip_comment(),
            b'\n' | 0 => {}
            _ => return None,
        }
        Some(())
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        // Deep documents get saphyr's error (or its tree): well before `Builder`'s limit.
        (self.depth < MAX_DEPTH / 2).then_some(())
    }

    /// A block mapping or sequence whose first line starts at `pos`, indented by `indent`.
    fn block_node(&mut self, indent: usize, indentless: bool) -> Option<Node> {
        self.enter()?;
        let node = if self.here() == b'-' && is_blank_or_end(self.at(self.pos + 1)) {
            self.block_seq(indent, indentless)
        } else {
            self.block_map(indent)
        };
        self.depth -= 1;
        node
    }

    fn block_map(&mut self, indent: usize) -> Option<Node> {
        let start = self.mark();
        let first = self.open_entries.len();
        loop {
            let (key, key_span, colon) = self.block_key()?;
            let value = self.block_value(indent, colon, Indicator::Colon)?;
            self.open_entries.push(Entry {
                key,
                key_span,
                value,
            });
            match self.skip_to_content()? {
                Next::Indent(i) if i == indent => {}
                Next::Indent(i) if i > indent => return None,
                _ => break,
            }
        }
        let end = self.block_end(indent);
        self.duplicate_keys |= has_duplicate_keys(&self.open_entries[first..]);
        let entries = self.open_entries.drain(first..).collect();
        self.node(NodeValue::Map(entries), span(start, end))
    }

    /// A block sequence; `indentless` when it sits at its key's indentation, where saphyr
    /// starts it at its first entry's value rather than at the dash.
    fn block_seq(&mut self, indent: usize, indentless: bool) -> Option<Node> {
        let mut start = self.mark();
        let first = self.open_items.len();
        loop {
            let dash = self.mark();
            self.pos += 1;
            // An entry whose value starts on the next line: saphyr places it oddly.
            if self.skip_spaces() == 0 || matches!(self.here(), b'\n' | 0 | b'#') {
                return None;
            }
            if indentless && self.open_items.len() == first {
                start = self.mark();
            }
            let item = self.block_value(indent, dash, Indicator::Dash)?;
            self.open_items.push(item);
            match self.skip_to_content()? {
                Next::Indent(i)
                    if i == indent
                        && self.here() == b'-'
                        && is_blank_or_end(self.at(self.pos + 1)) => {}
                Next::Indent(i) if i > indent => return None,
                _ => break,
            }
        }
        let end = self.block_end(indent);
        let items = self.open_items.drain(first..).collect();
        self.node(NodeValue::Seq(items), span(start, end))
    }

    /// A mapping key and its `:`; returns the key, its span and where the `:` is.
    fn block_key(&mut self) -> Option<(CompactString, Span, Mark)> {
        let start = self.mark();
        let value = match self.here() {
            b'"' | b'\'' => self.quoted()?,
            _ => resolve_plain(self.plain_text(false)?),
        };
        let key_span = span(start, self.mark());
        if self.here() != b':' || !is_blank_or_end(self.at(self.pos + 1)) {
            return None;
        }
        let colon = self.mark();
        self.pos += 1;
        let key = key_text(self.node(value, key_span)?)?;
        // Merge keys need anchors and aliases; long keys are not simple keys.
        if key == "<<" || key.len() > 1000 {
            return None;
        }
        Some((key, key_span, colon))
    }

    /// Whether a plain scalar may start at `pos` (in a flow collection when `flow`).
    fn plain_starts_here(&self, flow: bool) -> bool {
        let next = self.at(self.pos + 1);
        match self.here() {
            b'-' | b'?' | b':' => !(is_blank_or_end(next) || flow && is_flow_indicator(next)),
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' | 0 => false,
            _ => true,
        }
    }

    /// The value after `key:` or `- `, on the same line or, for a nested block collection,
    /// on the lines below. `indent` is the indentation of the collection it belongs to.
    fn block_value(&mut self, indent: usize, indicator: Mark, kind: Indicator) -> Option<Node> {
        let spaces = self.skip_spaces();
        match self.here() {
            b'#' if spaces > 0 => {
                self.skip_comment();
                self.value_below(indent, indicator)
            }
            b'\n' | 0 => self.value_below(indent, indicator),
            b'|' | b'>' => self.block_scalar(indent),
            b'[' | b'{' => {
                let node = self.flow_node()?;
                self.end_of_line()?;
                Some(node)
            }
            b'-' if is_blank_or_end(self.at(self.pos + 1)) => None,
            _ if kind == Indicator::Dash && self.key_ahead() => {
                // `- key: value`: a mapping indented as far as its first key.
                let column = self.pos - self.line_start;
                self.block_node(column, false)
            }
            b'"' | b'\'' => {
                let node = self.quoted_node()?;
                self.end_of_line()?;
                Some(node)
            }
            _ => self.plain_block(),
        }
    }

    /// The value of `key:` with nothing after it: a nested block collection below, or null
    /// (an empty scalar at the `:`).
    fn value_below(&mut self, indent: usize, colon: Mark) -> Option<Node> {
        let saved = self.position();
        match self.skip_to_content()? {
            Next::Indent(i) if i > indent => self.block_node(i, false),
            // A sequence may sit at its key's indentation.
            Next::Indent(i)
                if i == indent && self.here() == b'-' && is_blank_or_end(self.at(self.pos + 1)) =>
            {
                self.block_node(i, true)
            }
            _ => {
                self.go_back(saved);
                self.node(NodeValue::Null, span(colon, colon))
            }
        }
    }

    /// A plain scalar on one line in block context.
    fn plain_block(&mut self) -> Option<Node> {
        let start = self.mark();
        let text = self.plain_text(false)?;
        let end = self.mark();
        // `a: b: c` is an error; `- a: b` was taken as a mapping before.
        if self.here() == b':' {
            return None;
        }
        self.end_of_line()?;
        self.node(resolve_plain(text), span(start, end))
    }

    /// The text of a plain scalar at `pos`, up to what ends it on this line in block context
    /// (in a flow collection when `flow`); leaves `pos` after its last non-space.
    fn plain_text(&mut self, flow: bool) -> Option<&'t str> {
        if !self.plain_starts_here(flow) {
            return None;
        }
        let begin = self.pos;
        loop {
            let next = self.at(self.pos + 1);
            match self.here() {
                b'\n' | 0 => break,
                b':' if is_blank_or_end(next) || (flow && is_flow_indicator(next)) => break,
                b'#' if self.prev() == b' ' => break,
                c if flow && is_flow_indicator(c) => break,
                // A word `-` before `,]}` is an error in saphyr.
                b'-' if flow && self.prev() == b' ' && is_flow_indicator(next) => return None,
                _ => self.pos += 1,
            }
        }
        let text = self.text[begin..self.pos].trim_end_matches(' ');
        self.pos = begin + text.len();
        Some(text)
    }

    /// A quoted scalar as a value: saphyr's token runs over the spaces and comment after it.
    fn quoted_node(&mut self) -> Option<Node> {
        let start = self.mark();
        let value = self.quoted()?;
        self.skip_ws_to_eol()?;
        let end = self.mark();
        self.node(value, span(start, end))
    }

    /// A single-line quoted scalar starting at `pos`; leaves `pos` after the closing quote.
    fn quoted(&mut self) -> Option<NodeValue> {
        let quote = self.here();
        self.pos += 1;
        // Most quoted scalars are short: kept inline, they cost no allocation.
        let mut text = CompactString::default();
        loop {
            let run = self.pos;
            while !matches!(self.here(), b'\'' | b'"' | b'\\' | b'\n' | 0) {
                self.pos += 1;
            }
            text.push_str(&self.text[run..self.pos]);
            match self.here() {
                b'\n' | 0 => return None,
                b'\'' if quote == b'\'' => {
                    if self.at(self.pos + 1) != b'\'' {
                        self.pos += 1;
                        break;
                    }
                    text.push('\'');
                    self.pos += 2;
                }
                b'"' if quote == b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' if quote == b'"' => text.push(self.escape()?),
                other => {
                    text.push(char::from(other));
                    self.pos += 1;
                }
            }
        }
        Some(NodeValue::Str { text, plain: false })
    }

    /// A double-quoted escape at `pos` (the backslash), as saphyr resolves it.
    fn escape(&mut self) -> Option<char> {
        let simple = match self.at(self.pos + 1) {
            b'0' => Some('\0'),
            b'a' => Some('\x07'),
            b'b' => Some('\x08'),
            b't' => Some('\t'),
            b'n' => Some('\n'),
            b'v' => Some('\x0b'),
            b'f' => Some('\x0c'),
            b'r' => Some('\r'),
            b'e' => Some('\x1b'),
            b' ' => Some(' '),
            b'"' => Some('"'),
            b'/' => Some('/'),
            b'\\' => Some('\\'),
            b'N' => Some('\u{85}'),
            b'_' => Some('\u{a0}'),
            b'L' => Some('\u{2028}'),
            b'P' => Some('\u{2029}'),
            _ => None,
        };
        if let Some(c) = simple {
            self.pos += 2;
            return Some(c);
        }
        let digits = match self.at(self.pos + 1) {
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => return None,
        };
        let hex = self.text.get(self.pos + 2..self.pos + 2 + digits)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
        self.pos += 2 + digits;
        Some(c)
    }
}

/// Flow collections, on one line.
impl Reader<'_> {
    fn flow_node(&mut self) -> Option<Node> {
        self.enter()?;
        let node = match self.here() {
            b'[' => self.flow_collection(b']'),
            b'{' => self.flow_collection(b'}'),
            b'"' | b'\'' => {
                let node = self.quoted_node()?;
                self.flow_spaces()?;
                Some(node)
            }
            _ => self.plain_flow(),
        };
        self.depth -= 1;
        node
    }

    /// Spaces inside a flow collection; its end on this line is not in the subset.
    fn flow_spaces(&mut self) -> Option<()> {
        self.skip_spaces();
        (!matches!(self.here(), b'\n' | 0 | b'#')).then_some(())
    }

    /// `[...]` or `{...}` from the opening bracket at `pos`.
    fn flow_collection(&mut self, close: u8) -> Option<Node> {
        let start = self.mark();
        self.pos += 1;
        self.flow_spaces()?;
        let (first_entry, first_item) = (self.open_entries.len(), self.open_items.len());
        while self.here() != close {
            if close == b'}' {
                let entry = self.flow_entry()?;
                self.open_entries.push(entry);
            } else {
                let item = self.flow_node()?;
                self.open_items.push(item);
            }
            match self.here() {
                b',' => {
                    self.pos += 1;
                    self.flow_spaces()?;
                    if self.here() == close {
                        return None;
                    }
                }
                c if c == close => {}
                _ => return None,
            }
        }
        self.pos += 1;
        self.skip_ws_to_eol()?;
        let end = self.mark();
        let value = if close == b'}' {
            self.duplicate_keys |= has_duplicate_keys(&self.open_entries[first_entry..]);
            NodeValue::Map(self.open_entries.drain(first_entry..).collect())
        } else {
            NodeValue::Seq(self.open_items.drain(first_item..).collect())
        };
        self.node(value, span(start, end))
    }

    /// `key: value` in a flow mapping.
    fn flow_entry(&mut self) -> Option<Entry> {
        let start = self.mark();
        let value = match self.here() {
            b'"' | b'\'' => self.quoted()?,
            _ => resolve_plain(self.plain_text(true)?),
        };
        let key_span = span(start, self.mark());
        if self.here() != b':' || self.at(self.pos + 1) != b' ' {
            return None;
        }
        self.pos += 1;
        self.flow_spaces()?;
        if matches!(self.here(), b',' | b'}') {
            return None;
        }
        let key = key_text(self.node(value, key_span)?)?;
        if key == "<<" || key.len() > 1000 {
            return None;
        }
        let value = self.flow_node()?;
        Some(Entry {
            key,
            key_span,
            value,
        })
    }

    /// A plain scalar inside a flow collection.
    fn plain_flow(&mut self) -> Option<Node> {
        let start = self.mark();
        let text = self.plain_text(true)?;
        let end = self.mark();
        self.flow_spaces()?;
        // `[a: b]` (a mapping in a sequence) and `[a[b]]` are not in the subset.
        if matches!(self.here(), b':' | b'[' | b'{') {
            return None;
        }
        self.node(resolve_plain(text), span(start, end))
    }
}

/// Block scalars.
impl Reader<'_> {
    /// `|` or `>` at `pos`, in a collection indented by `indent`.
    fn block_scalar(&mut self, indent: usize) -> Option<Node> {
        let (folded, chomping) = self.block_scalar_header()?;
        let mut begin = self.pos + 1;
        let mut line = self.line + 1;
        let content = self.spaces_at(begin);
        if content <= indent || self.at(begin + content) == b'\n' {
            return None;
        }
        let start = (line, content + 1);
        let mut text = String::new();
        let mut empty_lines = 0;
        let mut last_break = self.pos;
        let end = loop {
            if begin == self.bytes.len() {
                break (line, 1);
            }
            let spaces = self.spaces_at(begin);
            let first = begin + spaces;
            if self.at(first) == b'\n' {
                // A line of spaces beyond the indentation keeps them: saphyr's.
                if spaces > content {
                    return None;
                }
                empty_lines += 1;
            } else if spaces < content {
                break (line, spaces + 1);
            } else {
                // More indentation is content, folded by rules of its own: saphyr's.
                if folded && spaces > content {
                    return None;
                }
                if !text.is_empty() {
                    separate(&mut text, folded, empty_lines);
                }
                empty_lines = 0;
                let line_end = first + self.text[first..].find('\n')?;
                text.push_str(&self.text[begin + content..line_end]);
            }
            last_break = first + self.text[first..].find('\n')?;
            begin = last_break + 1;
            line += 1;
        };
        // Continue after the last line of the scalar.
        self.pos = last_break;
        self.line = line - 1;
        self.line_start = self.text[..last_break].rfind('\n').map_or(0, |i| i + 1);
        let trailing = match chomping {
            Chomping::Strip => 0,
            Chomping::Clip => 1,
            Chomping::Keep => 1 + empty_lines,
        };
        text.extend(std::iter::repeat_n('\n', trailing));
        self.node(
            NodeValue::Str {
                text: text.into(),
                plain: false,
            },
            span(start, end),
        )
    }

    /// `|` or `>`, and how the scalar ends; an explicit indentation is saphyr's.
    fn block_scalar_header(&mut self) -> Option<(bool, Chomping)> {
        let folded = self.here() == b'>';
        self.pos += 1;
        let chomping = match self.here() {
            b'-' => Chomping::Strip,
            b'+' => Chomping::Keep,
            _ => Chomping::Clip,
        };
        if chomping != Chomping::Clip {
            self.pos += 1;
        }
        self.end_of_line()?;
        // The text must end with a line break, and the content start on the next line
        // (leading blank lines are saphyr's).
        if self.here() != b'\n' || !self.text.ends_with('\n') {
            return None;
        }
        Some((folded, chomping))
    }

    fn spaces_at(&self, pos: usize) -> usize {
        self.bytes[pos..].iter().take_while(|&&b| b == b' ').count()
    }
}

/// What joins two content lines of a block scalar with `empty_lines` between them.
fn separate(text: &mut String, folded: bool, empty_lines: usize) {
    if folded {
        if empty_lines == 0 {
            text.push(' ');
        } else {
            text.extend(std::iter::repeat_n('\n', empty_lines));
        }
    } else {
        text.extend(std::iter::repeat_n('\n', empty_lines + 1));
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::{parse_with_saphyr, Parsed};
    use crate::manifest::node::{Node, NodeValue};
    use crate::manifest::source::SourceFile;

    fn source(text: &str) -> SourceFile {
        SourceFile::new("t.yaml".into(), "t.yaml".into(), text.into())
    }

    fn messages(parsed: &Parsed) -> Vec<String> {
        parsed.diagnostics.iter().map(|d| d.to_string()).collect()
    }

    /// Whether the fast reader takes `text`; when it does, saphyr must read the same tree
    /// and report the same duplicate keys.
    fn agrees(text: &str) -> bool {
        let Some((tree, _)) = super::parse(text) else {
            return false;
        };
        let saphyr = parse_with_saphyr(&source(text));
        assert!(
            !saphyr.fatal,
            "the fast reader took YAML that saphyr refuses ({:?}):\n{text}",
            messages(&saphyr)
        );
        assert_eq!(saphyr.documents.len(), 1, "for:\n{text}");
        if let Some(difference) = first_difference(&saphyr.documents[0], &tree, "") {
            panic!("trees differ at {difference} for:\n{text}");
        }
        let fast = super::super::parse(&source(text));
        assert_eq!(messages(&fast), messages(&saphyr), "for:\n{text}");
        true
    }

    /// Where two trees first differ (saphyr's, then the fast reader's).
    fn first_difference(slow: &Node, fast: &Node, path: &str) -> Option<String> {
        if slow.span != fast.span {
            return Some(format!("{path}: span {:?} != {:?}", slow.span, fast.span));
        }
        match (&slow.value, &fast.value) {
            (NodeValue::Seq(a), NodeValue::Seq(b)) if a.len() == b.len() => a
                .iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| first_difference(x, y, &format!("{path}[{i}]"))),
            (NodeValue::Map(a), NodeValue::Map(b)) if a.len() == b.len() => {
                a.iter().zip(b).find_map(|(x, y)| {
                    let at = format!("{path}.{}", x.key);
                    if x.key != y.key || x.key_span != y.key_span {
                        return Some(format!(
                            "{at}: key {:?} {:?} != {:?} {:?}",
                            x.key, x.key_span, y.key, y.key_span
                        ));
                    }
                    first_difference(&x.value, &y.value, &at)
                })
            }
            (a, b) if a != b => Some(format!("{path}: {a:?} != {b:?}")),
            _ => None,
        }
    }

    fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir)
            .expect("readable directory")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                yaml_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }

    /// Every manifest in the repository, and the constructs the fast reader knows.
    fn corpus() -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        yaml_files(&root.join("examples"), &mut files);
        yaml_files(&root.join("tests"), &mut files);
        files.sort();
        let mut texts: Vec<String> = files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .collect();
        texts.push(SAMPLE.to_string());
        texts.push(PROMPTS.to_string());
        texts.push(KEYS.to_string());
        texts.extend(EDGES.iter().map(|edge| edge.to_string()));
        texts
    }

    const SAMPLE: &str = r#"# constructs of the subset
evals:
  first-eval:
    name: "Quoted \"name\" \u00e9\x41\t"
    metadata: { team: perf, index: "1", 'single': 'it''s' }   # comment
    empty:
    nulls: [~, null, Null]
    numbers: [1, -2, 0x1F, 0o17, 1.5, .5, 1e3, -.inf, .nan, +3]
    bools: { a: true, b: False, c: yes }
    url: http://example.com/a#b
    colon: a:b
    seq_at_key_indent:
    - a
    - b: 1
      c: [x, y]
    -   spaced: 2
        more: "v"
    literal: |
      line one
        indented
      # not a comment

      after blank
    stripped: |-
      x

    kept: |+
      y


    folded: >
      one
      two

      three
    folded_strip: >-
      a
      b
    nested:
      - [inner]
      - {}
      - []
      - { a: [ ], b: {  } }   # after
    last: end
top2: 'value'
"#;

    const PROMPTS: &str = "evals:
  judge:
    testing_criteria:
      - type: label_model
        input:
          - role: system
            content: |
              You are a strict grader.
              Reply with one word.
          - role: user
            content: >-
              Question: {{item.question}}
              Answer: {{item.answer}}
        labels: [\"correct\", 'incorrect']
      - {type: string_check, name: exact, input: \"{{item.a}}\", reference: '{{item.b}}', operation: eq}
    runs:
      r1: {data_source: {type: jsonl, source: {type: file, path: data/rows.jsonl}}}
";

    const KEYS: &str = "  1: int
  true: bool
  ~: null
  1.50: float
  0x1F: hex
  'quoted key': \"\\U0001F600 \\x41\\u00e9\\/\"
  \"double key\": 'x'
  a b: spaced
  a[0]: brackets
  w: b#c
  x: -1
  y: :x
  z: x:y
  list:
    - |
      block in a list
    - >+
      kept

    - key: |-
        in a compact mapping
      other: v
  last: Brasília   # é
";

    /// Small texts at the edges of the subset, on both sides.
    const EDGES: &[&str] = &[
        "a: b #c\n",
        "a: b# c\n",
        "a: \"x\" #c\n",
        "a:  |  # c\n  x\n",
        "a: |-  \n  x\n",
        "- a\n-  b\n",
        "a:\n  - b\n  - c\nd: e\n",
        "a: [b, c]  \n",
        "a  : b\n",
        "a : b\n",
        "a: b\n  # comment more indented\nc: d\n",
        "a: >\n  x\n\n  y\n",
        "a: |\n  x\n  \n  y\n",
        "é: 1\nb: \"é\"\n",
        "a: 'x''y'\n",
        "a: \"x\\\"y\"\n",
        "a: 1 # c\n",
        "a: 0o17\nb: +1\nc: .5\nd: 1_000\n",
        "a: {a: 1, a: 2}\n",
        "a:\n\n  b: 1\n",
        "a:   \n  b: 1\n",
        "- [a, b]\n- \"a\"\n- 'a': b\n",
        "a: b:c\n",
        "a: b :c\n",
        "a: [b, {c: d}, [e]]\n",
        "a: {b: [c, d], e: {f: g}}\n",
        "a: {\"b\": c}\n",
        "a: {b: \"c\" }\n",
        "a: [ \"x\" , y ]\n",
        "a:\n- b\n",
        "-   a: 1\n    b: 2\n",
        "\"a\\nb\": 1\n",
        "a: 1\nb:\n",
        "a:\n",
        "a: 1",
        "a: [1]",
        "a: {}",
        "a: \"x\"",
        "a: |\n  x",
        "  a: 1\n  b: 2\n",
        "a: 1\n  \n",
        "a:\n  b:\n    c: 1\n  d: 2\n",
        "a: x\n\n\n",
        "a: ''\n",
        "a: \"\"\n",
        "a: [\"\", '']\n",
        "a: {b: ''}\n",
        "a: x y z  \n",
        "a: -\n",
        "a: ?x\n",
        "a: @x\n",
        "a: %x\n",
        "a: [a-b, -c]\n",
        "a: [- , b]\n",
        "a: [b -]\n",
        "a: [b, -]\n",
        "a: {b: c -}\n",
        "a: [:b]\n",
        "a: [b:]\n",
        "a: [b: c]\n",
        "a: x, y\n",
        "a: x]\n",
        "a: {x\n",
        "a: [x,\n  y]\n",
        "a: \"x\"y\n",
        "a: 'x' # c\n",
        "a: |+\n  x\n\n\nb: 1\n",
        "a: >-\n  x\n\n  y\n\nb: 1\n",
        "a: |\n  # x\n# y\nb: 1\n",
        "a: |\n  x\n # y\nb: 1\n",
        "- |\n  x\n- >\n  y\n",
        "- a: |\n    x\n  b: 2\n",
        "a: 1.0\n1.0: x\n",
        "null: 1\n~: 2\n",
        "a: !x\n",
        "a: &x 1\n",
        "a: *x\n",
        "a: 'x\n",
        "a:\tx\n",
        "a: x\r\n",
        "a: [[[[[[1]]]]]]\n",
        "a: {b: {c: {d: 1}}}\n",
        "a: x #\n",
        "a: x  #\n",
        "a: [x] #\n",
        "#\na: 1\n#\n",
        "a: 1 #c\n#d\n  #e\n",
        "a: \\x\n",
        "a: \"\\x41\\u00e9\"\n",
        "a: \"\\q\"\n",
        "a: \"\\uD800\"\n",
        "a: \"\\U0010FFFF\"\n",
        "a: 'é''é'\n",
        "a: ééé # c\nb: [é, 'é', \"é\"] # é\n",
        "- é: [é]\n  b: é\n",
        "a: b\nc: d\na: e\n",
        "a:\n  b: 1\n  b: 2\n",
        "<<: x\n",
        "a: {<<: x}\n",
        "a:\n- |\n  x\n- b: >-\n    y\n  c: 1\nd: 2\n",
        "a:\n- |\n x\n",
        "a:\n  b:\n  - |\n    x\n  c: 1\n",
    ];

    /// A small deterministic generator, so failures can be replayed.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n.max(1)
        }
    }

    const ALPHABET: &[&str] = &[
        " ", "\n", "\n", "  ", ":", "-", "#", "'", "\"", "[", "]", "{", "}", ",", "|", ">", "+",
        "a", "1", ".", "\\", "&", "*", "!", "?", "%", "~", "@", "`", "x", "0", "\t", "\r", "é",
        "\u{feff}", "---", "- ", ": ", " #",
    ];

    fn mutate(text: &str, rng: &mut Lcg) -> String {
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(bytes.len() + 1);
            let lines: Vec<usize> = std::iter::once(0)
                .chain(
                    bytes
                        .iter()
                        .enumerate()
                        .filter(|(_, &b)| b == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .filter(|&i| i < bytes.len())
                .collect();
            let line = lines.get(rng.below(lines.len())).copied().unwrap_or(0);
            let line_end = bytes[line..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |p| line + p + 1);
            match rng.below(8) {
                0 if at < bytes.len() => {
                    bytes.remove(at);
                }
                1 => {
                    let insert = ALPHABET[rng.below(ALPHABET.len())].bytes();
                    bytes.splice(at..at, insert);
                }
                2 if at < bytes.len() => {
                    let insert = ALPHABET[rng.below(ALPHABET.len())].bytes();
                    bytes.splice(at..at + 1, insert);
                }
                3 => {
                    bytes.drain(line..line_end);
                }
                4 => {
                    let copy = bytes[line..line_end].to_vec();
                    bytes.splice(line..line, copy);
                }
                5 => {
                    for _ in 0..1 + rng.below(2) {
                        bytes.insert(line, b' ');
                    }
                }
                6 if bytes.get(line) == Some(&b' ') => {
                    bytes.remove(line);
                }
                7 => bytes.truncate(at),
                _ => {}
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn reads_the_repository_manifests_as_saphyr_does() {
        let corpus = corpus();
        let taken = corpus.iter().filter(|text| agrees(text)).count();
        // Fixtures of invalid YAML and non-ASCII are saphyr's; ordinary manifests are not.
        assert!(taken * 4 >= corpus.len() * 3, "{taken} of {}", corpus.len());
        for sample in [SAMPLE, PROMPTS, KEYS] {
            assert!(super::parse(sample).is_some(), "{sample}");
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut examples = Vec::new();
        yaml_files(&root.join("examples"), &mut examples);
        for path in examples {
            let text = std::fs::read_to_string(&path).expect("readable example");
            assert!(super::parse(&text).is_some(), "{}", path.display());
        }
    }

    #[test]
    fn reads_mutated_manifests_as_saphyr_does_or_not_at_all() {
        let rounds: usize = std::env::var("EVALCTL_YAML_MUTATIONS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(200);
        let seed = std::env::var("EVALCTL_YAML_SEED")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0x5eed);
        let mut rng = Lcg(seed);
        let (mut tried, mut taken) = (0, 0);
        for text in corpus() {
            for _ in 0..rounds {
                let mutant = mutate(&text, &mut rng);
                tried += 1;
                taken += usize::from(agrees(&mutant));
            }
        }
        eprintln!("the fast reader took {taken} of {tried} mutated manifests");
        // Most small edits keep a manifest ordinary YAML: the fast reader must take many.
        assert!(taken * 5 >= tried, "{taken} of {tried}");
    }
}
