//! The canonical spec hash: a spec in request form and the service's stored echo of it hash
//! equal, for generated graders and configs on every flavor, so an unchanged manifest never
//! plans a replace. The echo is the emulator's (grader ids added, messages expanded, schemas
//! wrapped, Foundry's empty fields) as created, fetched and listed; on Azure and Foundry also
//! with the graders' float fields narrowed to 32 bits, as the service's OpenAPI stores
//! `pass_threshold`, `range`, `temperature` and `top_p` (`format: float`). And the hash tells specs apart: a spec with
//! any one string, number or flag changed hashes unlike it, so no change goes unplanned.

use evalctl::api::wire::Eval;
use evalctl::api::{Auth, Client, Connection, Flavor, Secret};
use evalctl::emulator::{self, Config};
use evalctl::manifest::model::Target;
use evalctl::plan::canonical;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

use super::generate;

/// A client of the emulator at `base` in `flavor`'s dialect.
fn client(base: &str, flavor: Flavor) -> Client {
    let (path, target) = match flavor {
        Flavor::Azure => ("/openai/v1", Target::Azure),
        Flavor::Foundry => ("/api/projects/properties/openai/v1", Target::Foundry),
        Flavor::OpenAi => ("/v1", Target::Openai),
    };
    let connection = Connection {
        target,
        base_url: format!("{base}{path}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
        flavor,
        auth: Auth::Bearer(Secret::new("token")),
    };
    Client::new(&connection, 4).unwrap_or_else(|e| panic!("{e}"))
}

/// `grader` as Azure stores it: the fields its OpenAPI keeps as 32-bit floats
/// (`format: float`) read back into 64 bits, whole numbers too (0.8 becomes 0.800000011920929,
/// 16777217 becomes 16777216.0).
fn narrowed(grader: &Value) -> Value {
    let mut grader = grader.clone();
    let narrow = |value: &mut Value| {
        if let Some(x) = value.as_f64() {
            *value = json!(f64::from(x as f32));
        }
    };
    for field in [
        "/pass_threshold",
        "/sampling_params/temperature",
        "/sampling_params/top_p",
    ] {
        grader.pointer_mut(field).map(narrow);
    }
    if let Some(range) = grader.get_mut("range").and_then(Value::as_array_mut) {
        range.iter_mut().for_each(narrow);
    }
    grader
}

fn spec_hash(config: &Value, graders: &[Value]) -> String {
    canonical::eval_spec(config, graders).hash()
}

/// The echoes of the eval `body` creates: the create answer, a get and the list entry.
async fn echoes(client: &Client, body: &Value) -> Result<Vec<Eval>, String> {
    let created = client
        .create_eval(body)
        .await
        .map_err(|e| format!("the emulator refused {body}: {e}"))?;
    let fetched = client
        .get_eval(&created.id)
        .await
        .map_err(|e| e.to_string())?;
    let listed = client.list_evals().await.map_err(|e| e.to_string())?;
    let listed = listed.into_iter().find(|e| e.id == created.id);
    // Each case leaves nothing behind: the list stays one page.
    client
        .delete_eval(&created.id)
        .await
        .map_err(|e| e.to_string())?;
    Ok([Some(created), Some(fetched), listed]
        .into_iter()
        .flatten()
        .collect())
}

fn flavor() -> impl Strategy<Value = Flavor> {
    prop_oneof![
        Just(Flavor::Azure),
        Just(Flavor::Foundry),
        Just(Flavor::OpenAi)
    ]
}

fn spec() -> impl Strategy<Value = (Flavor, Value, Vec<Value>)> {
    flavor().prop_flat_map(|flavor| {
        (
            Just(flavor),
            generate::config(flavor),
            prop::collection::vec(generate::grader(flavor), 1..4),
        )
    })
}

#[test]
fn a_spec_and_the_services_echo_of_it_hash_equal() {
    let runtime = super::runtime();
    let server = runtime
        .block_on(emulator::start(Config::in_memory()))
        .unwrap_or_else(|e| panic!("the emulator did not start: {e}"));
    let base = server.base_url();
    let clients = [Flavor::Azure, Flavor::Foundry, Flavor::OpenAi].map(|f| (f, client(&base, f)));
    let mut runner = TestRunner::new(super::config());
    let result = runner.run(&spec(), |(flavor, config, graders)| {
        let Some((_, client)) = clients.iter().find(|(f, _)| *f == flavor) else {
            return Ok(());
        };
        let body = json!({"name": "property", "data_source_config": config,
                          "testing_criteria": graders});
        let echoes = runtime
            .block_on(echoes(client, &body))
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(echoes.len(), 3, "the eval was not listed");
        let sent = spec_hash(&config, &graders);
        for echo in &echoes {
            let stored = spec_hash(&echo.data_source_config, &echo.testing_criteria);
            prop_assert_eq!(
                &sent,
                &stored,
                "{:?}: sent {}\nstored {}",
                flavor,
                canonical::eval_spec(&config, &graders).text(),
                canonical::eval_spec(&echo.data_source_config, &echo.testing_criteria).text()
            );
            if flavor != Flavor::OpenAi {
                let stored_config = &echo.data_source_config;
                let stored_graders: Vec<Value> =
                    echo.testing_criteria.iter().map(narrowed).collect();
                prop_assert_eq!(
                    &sent,
                    &spec_hash(stored_config, &stored_graders),
                    "{:?} with 32-bit floats: sent {}\nstored {}",
                    flavor,
                    canonical::eval_spec(&config, &graders).text(),
                    canonical::eval_spec(stored_config, &stored_graders).text()
                );
            }
        }
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// JSON pointers to the strings, numbers and flags of `value`, but grader ids (the service's,
/// not the spec's).
fn leaves(value: &Value, at: &str, out: &mut Vec<String>) {
    let grader = at.starts_with("/graders/") && at.matches('/').count() == 2;
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter().filter(|(key, _)| !(grader && *key == "id")) {
                let key = key.replace('~', "~0").replace('/', "~1");
                leaves(value, &format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaves(item, &format!("{at}/{i}"), out);
            }
        }
        Value::Null => {}
        _ => out.push(at.to_string()),
    }
}

/// `leaf` changed: a string lengthened, a number moved by at least 1 and by as much as it
/// is large (so a 32-bit float still tells it apart), a flag flipped.
fn changed(leaf: &Value) -> Value {
    match leaf {
        Value::String(text) => Value::String(format!("{text}~")),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or_default();
            json!(x + x.abs().max(1.0))
        }
        Value::Bool(b) => Value::Bool(!b),
        other => other.clone(),
    }
}

#[test]
fn specs_that_differ_in_one_field_hash_apart() {
    let mut runner = TestRunner::new(super::config());
    let result = runner.run(&(spec(), any::<Index>()), |((_, config, graders), pick)| {
        let mut both = json!({"config": config, "graders": graders});
        let mut pointers = Vec::new();
        leaves(&both, "", &mut pointers);
        let pointer = &pointers[pick.index(pointers.len())];
        if let Some(leaf) = both.pointer_mut(pointer) {
            *leaf = changed(leaf);
        }
        let other_graders = both["graders"].as_array().cloned().unwrap_or_default();
        prop_assert_ne!(
            spec_hash(&config, &graders),
            spec_hash(&both["config"], &other_graders),
            "{} changed, yet hashes as before: {}",
            pointer,
            canonical::eval_spec(&config, &graders).text()
        );
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}
