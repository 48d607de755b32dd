//! Scanning bytes for a class of characters, as the YAML reader (control characters in a
//! manifest) and the canonical JSON writer (characters to escape) both do over every byte
//! they read: without a branch per byte, so the compiler checks a block at a time.

/// Whether any byte of `bytes` is one that `wanted` picks. `wanted` should be free of
/// branches (`&` and `|` rather than `&&` and `||`) for the blocks to be checked at once.
#[inline]
pub(crate) fn any_byte(bytes: &[u8], wanted: impl Fn(u8) -> bool) -> bool {
    let mut blocks = bytes.chunks_exact(16);
    let found = blocks
        .by_ref()
        .any(|block| block.iter().fold(false, |found, &b| found | wanted(b)));
    found || blocks.remainder().iter().any(|&b| wanted(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_byte_in_a_block_and_in_the_remainder() {
        let is_x = |b: u8| b == b'x';
        for len in [0, 1, 15, 16, 17, 40] {
            assert!(!any_byte(&vec![b'a'; len], is_x));
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                bytes[at] = b'x';
                assert!(any_byte(&bytes, is_x), "x at {at} of {len}");
            }
        }
    }
}
