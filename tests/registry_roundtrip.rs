//! Property: any registry the program can read comes back from a load and save with
//! nothing lost, unknown fields included, at the top level, in each task and in each
//! task's `native` record. Records of the wrong shape are kept exactly as they were.
//!
//! Each case writes a generated registry, lets `Store::update` add one top-level
//! field, and compares the file with the original plus that field. A valid task
//! record and its `native` record may differ in two ways that every reader treats
//! alike. An optional field that was `null` may be left out. A field the original
//! left out may appear with its empty default (`null`, `false`, `""`, `[]` or `{}`).

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use task_watchdog::registry::Store;

/// A field of a record: its key and value, or `None` when the record leaves it out.
type Field = Option<(String, Value)>;

fn text() -> impl Strategy<Value = String> {
    ".{0,16}"
}

/// Generates floats with a short exact binary form, so the comparison tests the store
/// and not the float parser.
fn exact_float() -> impl Strategy<Value = Value> {
    (-1_000_000i64..1_000_000).prop_map(|eighths| json!(eighths as f64 / 8.0))
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        exact_float(),
        text().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::from),
            btree_map(text(), inner, 0..4).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Generates fields outside the schema. The `x-` prefix keeps them apart from every
/// field the schema has now or may add.
fn unknown_fields() -> impl Strategy<Value = Vec<(String, Value)>> {
    btree_map("x-.{0,8}", json_value(), 0..3).prop_map(|map| map.into_iter().collect())
}

/// Generates a field that every record has.
fn required(
    key: &'static str,
    value: impl Strategy<Value = Value> + 'static,
) -> BoxedStrategy<Field> {
    value
        .prop_map(move |value| Some((key.to_string(), value)))
        .boxed()
}

/// Generates a field with a default, which may be left out but not set to `null`.
fn omittable(
    key: &'static str,
    value: impl Strategy<Value = Value> + 'static,
) -> BoxedStrategy<Field> {
    prop_oneof![
        1 => Just(None),
        2 => value.prop_map(move |value| Some((key.to_string(), value))),
    ]
    .boxed()
}

/// Generates an optional field: left out, `null`, or set.
fn nullable(
    key: &'static str,
    value: impl Strategy<Value = Value> + 'static,
) -> BoxedStrategy<Field> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some((key.to_string(), Value::Null))),
        3 => value.prop_map(move |value| Some((key.to_string(), value))),
    ]
    .boxed()
}

/// Builds a JSON object from the fields that are present and the unknown ones.
fn object(fields: Vec<Field>, unknown: Vec<(String, Value)>) -> Value {
    let mut map = Map::new();
    for (key, value) in fields.into_iter().flatten().chain(unknown) {
        map.insert(key, value);
    }
    Value::Object(map)
}

fn text_value() -> impl Strategy<Value = Value> {
    text().prop_map(Value::from)
}

fn native_record() -> impl Strategy<Value = Value> {
    let fields = vec![
        required("pid", any::<i32>().prop_map(Value::from)),
        required("pgid", any::<i32>().prop_map(Value::from)),
        omittable("start_time", text_value()),
        nullable("env_tag", text_value()),
        nullable("boot_id", text_value()),
        nullable("start_ticks", any::<u64>().prop_map(Value::from)),
    ];
    (fields, unknown_fields()).prop_map(|(fields, unknown)| object(fields, unknown))
}

fn monitor_record() -> impl Strategy<Value = Value> {
    (any::<i32>(), text(), any::<u64>()).prop_map(|(pid, boot_id, start_ticks)| {
        json!({"pid": pid, "boot_id": boot_id, "start_ticks": start_ticks})
    })
}

/// Generates a valid task record with random schema fields and random unknown ones.
fn task_record() -> impl Strategy<Value = Value> {
    let status = prop_oneof![
        Just("running"),
        Just("completed"),
        Just("failed"),
        Just("cancelled"),
    ];
    let fields = vec![
        required(
            "mode",
            prop_oneof![Just("native"), Just("docker")].prop_map(Value::from),
        ),
        required("command", text_value()),
        required("status", status.prop_map(Value::from)),
        required("started_at", text_value()),
        nullable("completed_at", text_value()),
        nullable("exit_code", any::<i32>().prop_map(Value::from)),
        nullable("signal", text_value()),
        nullable("core_dumped", any::<bool>().prop_map(Value::from)),
        omittable("oom_killed", any::<bool>().prop_map(Value::from)),
        nullable("reason", text_value()),
        nullable("native", native_record()),
        nullable("docker", json_value()),
        omittable(
            "constitution_rules",
            vec(text(), 0..3).prop_map(Value::from),
        ),
        nullable("monitor", monitor_record()),
        nullable("launch_id", text_value()),
        nullable("log_file", text_value()),
        nullable("cwd", text_value()),
        nullable("timeout_secs", exact_float()),
        nullable("cancel_requested_at", text_value()),
        nullable("leftovers_ended", any::<u32>().prop_map(Value::from)),
    ];
    (fields, unknown_fields()).prop_map(|(fields, unknown)| object(fields, unknown))
}

/// Generates a record the schema rejects: a wrong field type, or not an object.
fn invalid_record() -> impl Strategy<Value = Value> {
    prop_oneof![
        task_record().prop_map(|mut task| {
            task["status"] = json!(5);
            task
        }),
        task_record().prop_map(|mut task| {
            task["native"] = json!("x");
            task
        }),
        json_leaf(),
    ]
}

/// Generates a registry as JSON, and for each task id whether its record is valid.
fn registry() -> impl Strategy<Value = (Value, Vec<(String, bool)>)> {
    let entry = prop_oneof![
        4 => task_record().prop_map(|task| (task, true)),
        1 => invalid_record().prop_map(|task| (task, false)),
    ];
    (btree_map(text(), entry, 0..6), unknown_fields()).prop_map(|(entries, top_level)| {
        let mut tasks = Map::new();
        let mut validity = Vec::new();
        for (id, (record, valid)) in entries {
            tasks.insert(id.clone(), record);
            validity.push((id, valid));
        }
        let mut top = Map::new();
        top.insert("tasks".to_string(), Value::Object(tasks));
        top.extend(top_level);
        (Value::Object(top), validity)
    })
}

fn is_empty_default(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// Compares a valid record with its written form under the two allowed differences;
/// `native` is compared the same way, every other value exactly.
fn assert_same_record(original: &Value, written: &Value, path: &str) {
    let (Some(original), Some(written)) = (original.as_object(), written.as_object()) else {
        assert_eq!(original, written, "{path} changed");
        return;
    };
    for (key, value) in original {
        let inner = format!("{path}.{key}");
        match written.get(key) {
            Some(found) if key == "native" && value.is_object() => {
                assert_same_record(value, found, &inner)
            }
            Some(found) => assert_eq!(found, value, "{inner} changed"),
            None => assert!(value.is_null(), "{inner} was lost; it was {value}"),
        }
    }
    for (key, value) in written {
        if !original.contains_key(key) {
            assert!(
                is_empty_default(value),
                "{path}.{key} appeared with {value}, which no reader would assume"
            );
        }
    }
}

fn round_trip(original: &Value, validity: &[(String, bool)]) {
    let directory = tempfile::tempdir().expect("create a temporary directory");
    let path = directory.path().join("process_registry.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(original).expect("serialize"),
    )
    .expect("write the registry");

    let store = Store::open(&path).expect("open the store");
    store
        .update(|registry, _| {
            registry.extra.insert("probe".into(), json!(1));
            Ok(())
        })
        .expect("update the registry");

    let text = std::fs::read_to_string(&path).expect("read the registry back");
    let written: Value = serde_json::from_str(&text).expect("the written registry parses");
    let mut expected = original.as_object().expect("an object").clone();
    expected.insert("probe".into(), json!(1));
    let written = written.as_object().expect("the registry is an object");

    let expected_keys: Vec<&String> = expected.keys().collect();
    let written_keys: Vec<&String> = written.keys().collect();
    let mut sorted_expected = expected_keys.clone();
    let mut sorted_written = written_keys.clone();
    sorted_expected.sort();
    sorted_written.sort();
    assert_eq!(sorted_written, sorted_expected, "top-level keys differ");
    for (key, value) in &expected {
        if key != "tasks" {
            assert_eq!(&written[key], value, "top-level field {key:?} changed");
        }
    }

    let written_tasks = written["tasks"].as_object().expect("tasks is an object");
    assert_eq!(
        written_tasks.len(),
        validity.len(),
        "task count changed: {:?}",
        written_tasks.keys().collect::<Vec<_>>()
    );
    for (id, valid) in validity {
        let before = &original["tasks"][id];
        let after = written_tasks
            .get(id)
            .unwrap_or_else(|| panic!("task {id:?} was lost"));
        if *valid {
            assert_same_record(before, after, &format!("tasks[{id:?}]"));
        } else {
            assert_eq!(after, before, "the invalid record {id:?} changed");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn registry_survives_load_and_save((original, validity) in registry()) {
        round_trip(&original, &validity);
    }
}

/// One fixed case that exercises every allowed difference, so a failure of the
/// property shows against a readable example too.
#[test]
fn known_record_round_trips() {
    let original = json!({
        "tasks": {
            "T1": {
                "mode": "native",
                "command": "make",
                "status": "completed",
                "started_at": "2026-01-10T12:00:00Z",
                "completed_at": null,
                "native": {"pid": 7, "pgid": 7, "cgroup": "/user.slice", "env_tag": null},
                "x-wave": [1, {"nested": null}],
            },
            "T2": {"status": 5, "x-kept": true},
            "T3": 3,
        },
        "x-dev-kid": {"version": "2.0"},
    });
    let validity = vec![
        ("T1".to_string(), true),
        ("T2".to_string(), false),
        ("T3".to_string(), false),
    ];

    round_trip(&original, &validity);
}
