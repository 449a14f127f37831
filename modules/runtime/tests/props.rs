//! Property tests of what every module does with what ansible-core hands it: the args file, the
//! option spec's Ansible-style coercion, and secret masking. No input panics; what comes out is
//! bounded by what went in; coercion agrees with a reference reading. `PROPTEST_CASES` sets the
//! number of cases (default 256; `cargo xtask proptest` runs 100,000, BENCHMARKS.md).

use keel_runtime::args::{coerce_bool, coerce_duration, parse_args_text, validate, Constraints};
use keel_runtime::masking::{Secrets, MASK};
use keel_runtime::{Kind, Opt};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// The case count: `PROPTEST_CASES`, else proptest's default.
fn config() -> ProptestConfig {
    ProptestConfig::default()
}

/// Any JSON value, a few levels deep, with the strings and keys an args file has.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        word().prop_map(Value::String),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Strings coercion treats specially, and others.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "yes",
            "no",
            "Y",
            "n",
            "TRUE",
            "false",
            "on",
            "OFF",
            "1",
            "0",
            "1.0",
            "0.0",
            " yes ",
            "",
            "90",
            "90s",
            "5m",
            "1h30m",
            "2d",
            "1m30",
            "-5",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999d",
            "a,b",
            ",",
            " , x ,",
            "online",
            "offline",
        ])
        .prop_map(str::to_string),
        "[0-9]{1,22}[smhd]?",
        "([0-9]{0,6}[smhdx]){0,5}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "name",
            "wait",
            "count",
            "timeout",
            "mode",
            "volumes",
            "password",
            "options",
            "_ansible_check_mode",
            "_ansible_diff",
            "_ansible_no_log",
            "_ansible_verbosity",
            "_ansible_version",
            "_keel_module",
            "_ansible_new",
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,12}",
    ]
}

const SPEC: &[Opt] = &[
    Opt::new("name", Kind::Str),
    Opt::new("wait", Kind::Bool),
    Opt::new("count", Kind::Int),
    Opt::new("timeout", Kind::Duration),
    Opt::new("mode", Kind::Str).choices(&["online", "offline"]),
    Opt::new("volumes", Kind::List),
    Opt::new("options", Kind::Dict),
    Opt::new("password", Kind::Str).secret(),
];

/// Seconds of a duration string by the documented grammar (`90`, or number-unit pairs), None
/// when it does not fit or overflows: the reference `coerce_duration` must agree with.
fn reference_duration(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    if t.is_empty() {
        return None;
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    let mut total: u64 = 0;
    let mut rest = t.as_str();
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit = match rest.as_bytes().get(digits)? {
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86400,
            _ => return None,
        };
        let n: u64 = rest[..digits].parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        rest = &rest[digits + 1..];
    }
    Some(total)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_args_text_is_read_or_refused_never_a_panic(text in ".{0,300}") {
        let _ = parse_args_text(&text);
    }

    #[test]
    fn an_args_object_splits_into_context_and_options_and_keeps_every_option(obj in prop::collection::vec((key(), any_json()), 0..12)) {
        let text = Value::Object(obj.into_iter().collect()).to_string();
        // As JSON reads the text back (a float may differ from what was written in its last bit).
        let map: Map<String, Value> = serde_json::from_str(&text).unwrap();
        let raw = parse_args_text(&text).unwrap();
        for (k, v) in &map {
            let internal = k.starts_with("_ansible_") || k.starts_with("_keel_");
            prop_assert_eq!(raw.user.get(k), (!internal).then_some(v));
        }
        prop_assert!(Value::Object(raw.user).to_string().len() <= Value::Object(map).to_string().len());
    }

    #[test]
    fn validation_coerces_or_names_the_option_and_stays_bounded(obj in prop::collection::vec((key(), any_json()), 0..10)) {
        let user: Map<String, Value> = obj.into_iter().collect();
        let size = Value::Object(user.clone()).to_string().len();
        let spec: Vec<&Opt> = SPEC.iter().collect();
        match validate("m", &spec, &Constraints::default(), &user) {
            Ok(out) => {
                for (k, v) in &out {
                    let opt = SPEC.iter().find(|o| o.name == k).unwrap();
                    let fits = match opt.kind {
                        Kind::Str if !opt.choices.is_empty() => v.as_str().is_some_and(|s| opt.choices.contains(&s)),
                        Kind::Str => v.is_string(),
                        Kind::Bool => v.is_boolean(),
                        Kind::Int => v.is_i64(),
                        Kind::Duration => v.is_u64(),
                        Kind::List => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                        Kind::Dict => v.is_object(),
                    };
                    prop_assert!(fits, "{k}: {v}");
                }
                // A comma-separated list grows by at most its quotes per item.
                prop_assert!(Value::Object(out).to_string().len() <= 3 * size + 64);
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("m: "), "{msg}");
                prop_assert!(msg.len() <= 2 * size + 512, "{}", msg.len());
            }
        }
    }

    #[test]
    fn durations_agree_with_the_documented_grammar(text in word()) {
        prop_assert_eq!(coerce_duration(&json!(text)), reference_duration(&text), "{:?}", text);
    }

    #[test]
    fn booleans_are_only_what_ansible_calls_booleans(v in any_json()) {
        let expected = match &v {
            Value::Bool(b) => Some(*b),
            Value::Number(n) if n.as_f64() == Some(1.0) => Some(true),
            Value::Number(n) if n.as_f64() == Some(0.0) => Some(false),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" | "t" | "on" | "1" | "1.0" => Some(true),
                "no" | "n" | "false" | "f" | "off" | "0" | "0.0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        prop_assert_eq!(coerce_bool(&v), expected);
    }

    #[test]
    fn no_secret_survives_masking(
        secrets in prop::collection::vec("[A-Za-z0-9:@/._-]{1,12}", 1..4),
        pieces in prop::collection::vec((".{0,12}", 0usize..4), 0..8),
    ) {
        // Text with the secrets (and URLs carrying them) in it.
        let mut text = String::new();
        for (filler, i) in &pieces {
            text.push_str(filler);
            if let Some(s) = secrets.get(*i) {
                text.push_str(s);
            }
            if *i == 3 {
                text.push_str(&format!("https://{}@host/x", secrets[0]));
            }
        }
        let masked = Secrets::new(secrets.clone()).mask_str(&text);
        for s in &secrets {
            prop_assert!(!masked.contains(s.as_str()), "{s:?} in {masked:?}");
        }
        prop_assert!(masked.len() <= text.len() * MASK.len() + MASK.len());
    }
}
