//! Generators of eval specs in request form, as a manifest or an SDK caller would send them:
//! graders of every type a flavor takes and data source configs, with optional fields given,
//! sent as `null` or left out, messages in the simple and the EvalItem form, numbers written
//! as integers, short decimals and full-precision floats, and keys in any order.

use evalctl::api::Flavor;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// A field of a generated object.
enum Field {
    Required(BoxedStrategy<Value>),
    /// Left out, sent as `null`, or given.
    Optional(BoxedStrategy<Value>),
    /// Left out or given: the service refuses a `null`.
    NotNull(BoxedStrategy<Value>),
}

/// An object of `fields`, its keys in a generated order.
fn object(fields: Vec<(&'static str, Field)>) -> BoxedStrategy<Value> {
    let entries: Vec<BoxedStrategy<Option<(&'static str, Value)>>> = fields
        .into_iter()
        .map(|(key, field)| match field {
            Field::Required(value) => value.prop_map(move |v| Some((key, v))).boxed(),
            Field::Optional(value) => prop_oneof![
                Just(None),
                Just(Some((key, Value::Null))),
                value.prop_map(move |v| Some((key, v))),
            ]
            .boxed(),
            Field::NotNull(value) => {
                prop_oneof![Just(None), value.prop_map(move |v| Some((key, v)))].boxed()
            }
        })
        .collect();
    (entries, any::<u64>())
        .prop_map(|(entries, order)| {
            let mut present: Vec<(&str, Value)> = entries.into_iter().flatten().collect();
            rotate(&mut present, order);
            Value::Object(
                present
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
        })
        .boxed()
}

/// A reordering of `items` chosen by `order` (the objects keep insertion order).
fn rotate<T>(items: &mut [T], order: u64) {
    let mut order = order;
    for i in (1..items.len()).rev() {
        let j = (order % (i as u64 + 1)) as usize;
        order /= i as u64 + 1;
        items.swap(i, j);
    }
}

fn required(value: impl Strategy<Value = Value> + 'static) -> Field {
    Field::Required(value.boxed())
}

fn optional(value: impl Strategy<Value = Value> + 'static) -> Field {
    Field::Optional(value.boxed())
}

/// Text with what JSON escapes and templates use: quotes, backslashes, braces, line breaks,
/// tabs, a control character, non-ASCII.
fn text() -> impl Strategy<Value = Value> {
    "[a-zA-Z0-9 _.:{}é中\"\\\\/\n\t\u{1}-]{1,16}".prop_map(Value::String)
}

fn name() -> impl Strategy<Value = Value> {
    "[a-z][a-z0-9 _-]{0,11}".prop_map(Value::String)
}

fn template() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z]{1,8}".prop_map(|field| json!(format!("{{{{item.{field}}}}}"))),
        Just(json!("{{sample.output_text}}")),
        text(),
    ]
}

/// A number as a manifest writes one: a whole number (small, or of any size a 64-bit
/// integer holds, negative too), a decimal of up to 6 digits after the point, or any float in
/// [0, 1).
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u32..=100).prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        (0u32..1_000_000, 1usize..=6).prop_map(|(n, digits)| {
            let text = format!(
                "{}.{:0digits$}",
                n / 10u32.pow(digits as u32),
                n % 10u32.pow(digits as u32)
            );
            serde_json::from_str(&text).unwrap_or(Value::Null)
        }),
        (0.0f64..1.0).prop_map(|x| json!(x)),
    ]
}

fn pick(values: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::sample::select(values).prop_map(|v| json!(v))
}

/// A chat message: `{role, content}` with the content as text or a typed part, with or
/// without `type: message`; on OpenAI, content may be a list of parts, images and audio too.
fn message(flavor: Flavor) -> BoxedStrategy<Value> {
    let part = prop_oneof![
        text().prop_map(|t| json!({"type": "input_text", "text": t})),
        text().prop_map(|t| json!({"type": "output_text", "text": t})),
    ];
    let content = if flavor == Flavor::OpenAi {
        // OpenAI takes images and audio in a message too.
        let media = prop_oneof![
            object(vec![
                ("type", required(Just(json!("input_image")))),
                (
                    "image_url",
                    required(pick(&["https://example.com/a.png", "{{item.image}}"]))
                ),
                ("detail", optional(pick(&["low", "high", "auto"]))),
            ]),
            object(vec![
                ("type", required(Just(json!("input_audio")))),
                (
                    "input_audio",
                    required(object(vec![
                        ("data", required(pick(&["UklGRg==", "SUQzBA=="]))),
                        ("format", required(pick(&["wav", "mp3"]))),
                    ])),
                ),
            ]),
        ];
        let part = prop_oneof![3 => part, 1 => media];
        prop_oneof![
            template().boxed(),
            part.clone().boxed(),
            prop::collection::vec(part, 1..3)
                .prop_map(Value::Array)
                .boxed(),
        ]
        .boxed()
    } else {
        prop_oneof![template(), part].boxed()
    };
    object(vec![
        (
            "role",
            required(pick(&["user", "assistant", "system", "developer"])),
        ),
        ("content", Field::Required(content)),
        ("type", Field::NotNull(Just(json!("message")).boxed())),
    ])
}

fn messages(flavor: Flavor) -> impl Strategy<Value = Value> {
    prop::collection::vec(message(flavor), 1..4).prop_map(Value::Array)
}

fn string_check() -> BoxedStrategy<Value> {
    object(vec![
        ("type", required(Just(json!("string_check")))),
        ("name", required(name())),
        ("input", required(template())),
        ("reference", required(template())),
        ("operation", required(pick(&["eq", "ne", "like", "ilike"]))),
    ])
}

fn text_similarity(flavor: Flavor) -> BoxedStrategy<Value> {
    const METRICS: [&str; 10] = [
        "fuzzy_match",
        "bleu",
        "gleu",
        "meteor",
        "rouge_1",
        "rouge_2",
        "rouge_3",
        "rouge_4",
        "rouge_5",
        "rouge_l",
    ];
    let metric = match flavor {
        Flavor::OpenAi => prop_oneof![pick(&METRICS), Just(json!("cosine"))].boxed(),
        Flavor::Azure | Flavor::Foundry => pick(&METRICS).boxed(),
    };
    object(vec![
        ("type", required(Just(json!("text_similarity")))),
        ("name", required(name())),
        ("input", required(template())),
        ("reference", required(template())),
        ("evaluation_metric", Field::Required(metric)),
        ("pass_threshold", required(number())),
    ])
}

fn label_model(flavor: Flavor) -> BoxedStrategy<Value> {
    (
        prop::collection::btree_set("[a-z]{1,8}", 1..4),
        any::<prop::sample::Index>(),
    )
        .prop_flat_map(move |(labels, passing)| {
            let labels: Vec<String> = labels.into_iter().collect();
            let passing = json!([labels[passing.index(labels.len())]]);
            object(vec![
                ("type", required(Just(json!("label_model")))),
                ("name", required(name())),
                (
                    "model",
                    required(pick(&["gpt-4o-mini", "gpt-4.1", "o3-mini"])),
                ),
                ("input", required(messages(flavor))),
                ("labels", required(Just(json!(labels)))),
                ("passing_labels", required(Just(passing))),
            ])
        })
        .boxed()
}

fn score_model(flavor: Flavor) -> BoxedStrategy<Value> {
    let range = prop_oneof![
        Just(json!([0, 1])),
        Just(json!([0.0, 1.0])),
        Just(json!([0, 1.0])),
        (0u32..10, 1u32..10).prop_map(|(low, width)| json!([low, low + width])),
        (0.0f64..1.0).prop_map(|high| json!([0.0, 1.0 + high])),
    ];
    let sampling = object(vec![
        ("temperature", optional(number())),
        ("top_p", optional(number())),
        ("seed", optional((0u32..1000).prop_map(|n| json!(n)))),
        (
            "max_completions_tokens",
            optional((1u32..4096).prop_map(|n| json!(n))),
        ),
    ]);
    object(vec![
        ("type", required(Just(json!("score_model")))),
        ("name", required(name())),
        ("model", required(pick(&["gpt-4o-mini", "gpt-4.1"]))),
        ("input", required(messages(flavor))),
        ("range", Field::NotNull(range.boxed())),
        ("sampling_params", Field::Optional(sampling)),
        ("pass_threshold", optional(number())),
    ])
}

fn python() -> BoxedStrategy<Value> {
    object(vec![
        ("type", required(Just(json!("python")))),
        ("name", required(name())),
        (
            "source",
            required(text().prop_map(|t| {
                json!(format!(
                    "def grade(sample, item):\n    return {t:?} != ''\n"
                ))
            })),
        ),
        ("image_tag", optional(pick(&["2025-05-08", "latest"]))),
        ("pass_threshold", optional(number())),
    ])
}

/// A Foundry evaluator that needs no data mapping to be created.
fn azure_ai_evaluator() -> BoxedStrategy<Value> {
    let mapping = prop::collection::btree_map("[a-z_]{1,10}", template(), 0..3)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>()));
    let parameters = prop::collection::btree_map("[a-z_]{1,10}", text(), 0..3)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>()));
    object(vec![
        ("type", required(Just(json!("azure_ai_evaluator")))),
        ("name", required(name())),
        (
            "evaluator_name",
            required(pick(&[
                "builtin.coherence",
                "builtin.fluency",
                "builtin.violence",
                "custom.mine",
            ])),
        ),
        ("evaluator_version", optional(pick(&["", "1", "2"]))),
        ("initialization_parameters", optional(parameters)),
        ("data_mapping", optional(mapping)),
    ])
}

/// A grader of any type `flavor` takes.
pub fn grader(flavor: Flavor) -> BoxedStrategy<Value> {
    let openai = prop_oneof![
        string_check(),
        text_similarity(flavor),
        label_model(flavor),
        score_model(flavor),
        python(),
    ];
    match flavor {
        Flavor::Foundry => prop_oneof![4 => openai, 1 => azure_ai_evaluator()].boxed(),
        Flavor::OpenAi | Flavor::Azure => openai.boxed(),
    }
}

/// A JSON Schema of an item: an object of typed properties, some required.
fn item_schema() -> BoxedStrategy<Value> {
    prop::collection::btree_map(
        "[a-z_]{1,8}",
        pick(&["string", "number", "integer", "boolean"]),
        1..5,
    )
    .prop_flat_map(|properties| {
        let names: Vec<String> = properties.keys().cloned().collect();
        let properties: Map<String, Value> = properties
            .into_iter()
            .map(|(name, kind)| (name, json!({"type": kind})))
            .collect();
        let required = prop::sample::subsequence(names.clone(), 0..=names.len());
        object(vec![
            ("type", required_value(json!("object"))),
            ("properties", required_value(Value::Object(properties))),
            (
                "required",
                Field::Required(required.prop_map(|r| json!(r)).boxed()),
            ),
        ])
    })
    .boxed()
}

fn required_value(value: Value) -> Field {
    Field::Required(Just(value).boxed())
}

/// A data source config of any type `flavor` takes.
pub fn config(flavor: Flavor) -> BoxedStrategy<Value> {
    let custom = object(vec![
        ("type", required(Just(json!("custom")))),
        ("item_schema", Field::Required(item_schema())),
        (
            "include_sample_schema",
            optional(any::<bool>().prop_map(Value::Bool)),
        ),
    ]);
    let filter = prop_oneof![text(), number(), any::<bool>().prop_map(Value::Bool),];
    let metadata = prop::collection::btree_map("[a-z_]{1,8}", filter, 0..3)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>()));
    let logs = object(vec![
        ("type", required(pick(&["logs", "stored_completions"]))),
        ("metadata", optional(metadata)),
    ]);
    let source = object(vec![
        ("type", required(Just(json!("azure_ai_source")))),
        (
            "scenario",
            required(pick(&["responses", "traces_preview", "red_team"])),
        ),
    ]);
    match flavor {
        Flavor::Foundry => prop_oneof![3 => custom, 1 => logs, 1 => source].boxed(),
        Flavor::OpenAi | Flavor::Azure => prop_oneof![3 => custom, 1 => logs].boxed(),
    }
}
