//! The args file: Ansible's internal `_ansible_*` keys, and the user's options checked against a
//! declared spec and coerced the way Python's AnsibleModule coerces them.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ModuleError;

pub use crate::spec::{DefaultValue, Kind, Opt};

/// What ansible-core tells every module besides the user's options.
#[derive(Debug, Clone, Default)]
pub struct AnsibleContext {
    pub check_mode: bool,
    pub diff: bool,
    pub verbosity: u64,
    pub no_log: bool,
    pub ansible_version: Option<String>,
}

/// The args file split into Ansible's context, Keel's own dispatch key and the user's options.
#[derive(Debug, Clone)]
pub struct RawArgs {
    pub context: AnsibleContext,
    /// `_keel_module`, set by the dispatch action plugin to pick a module in the multi-call binary.
    pub keel_module: Option<String>,
    pub user: Map<String, Value>,
}

/// Prefixes of keys that are not user options. ansible-core adds new `_ansible_*` keys between
/// releases (2.17 to 2.21 differ), so every such key is accepted.
const INTERNAL_PREFIXES: [&str; 2] = ["_ansible_", "_keel_"];

pub fn parse_args_text(text: &str) -> Result<RawArgs, ModuleError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ModuleError::invalid_args(format!(
            "the args file is not a JSON object ({e}); Keel modules must be run by ansible-core 2.17 or later"
        ))
    })?;
    let Value::Object(map) = value else {
        return Err(ModuleError::invalid_args("the args file must hold a JSON object"));
    };
    let mut context = AnsibleContext::default();
    let mut keel_module = None;
    let mut user = Map::new();
    for (key, val) in map {
        if !INTERNAL_PREFIXES.iter().any(|p| key.starts_with(p)) {
            user.insert(key, val);
            continue;
        }
        // Internal keys come from ansible-core itself, but a malformed one must not panic.
        match key.as_str() {
            "_ansible_check_mode" => context.check_mode = truthy(&val),
            "_ansible_diff" => context.diff = truthy(&val),
            "_ansible_no_log" => context.no_log = truthy(&val),
            "_ansible_verbosity" => context.verbosity = val.as_u64().unwrap_or(0),
            "_ansible_version" => context.ansible_version = val.as_str().map(str::to_owned),
            "_keel_module" => keel_module = val.as_str().map(str::to_owned),
            _ => {}
        }
    }
    Ok(RawArgs {
        context,
        keel_module,
        user,
    })
}

fn truthy(v: &Value) -> bool {
    coerce_bool(v).unwrap_or(false)
}

/// Checks the user's options against `spec` (aliases resolved, choices and constraints checked)
/// and returns them coerced to their declared kinds, keyed by option name, with every default
/// filled in: an option absent from the result has no default and was not given.
pub fn validate(
    module: &str,
    spec: &[&Opt],
    constraints: &Constraints,
    user: &Map<String, Value>,
) -> Result<Map<String, Value>, ModuleError> {
    let valid = || {
        let mut names: Vec<String> = spec
            .iter()
            .map(|o| match o.aliases {
                [] => o.name.to_string(),
                aliases => format!("{} (alias {})", o.name, aliases.join(", ")),
            })
            .collect();
        names.sort_unstable();
        names.join(", ")
    };
    let mut unknown: Vec<&str> = user
        .keys()
        .map(String::as_str)
        .filter(|k| !spec.iter().any(|o| o.names().any(|n| n == *k)))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        let list = if spec.is_empty() { "none".to_string() } else { valid() };
        return Err(ModuleError::invalid_args(format!(
            "{module}: unsupported option(s) {}; valid options are: {list}",
            unknown.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ")
        )));
    }
    // Each option under its own name, from whichever of its names was given (not null).
    let mut given: Map<String, Value> = Map::new();
    let mut given_as: Vec<(&str, &str)> = Vec::new();
    for opt in spec {
        let named: Vec<&str> = opt
            .names()
            .filter(|n| user.get(*n).is_some_and(|v| !v.is_null()))
            .collect();
        match named.as_slice() {
            [] => {}
            [one] => {
                given.insert(opt.name.to_string(), user[*one].clone());
                if *one != opt.name {
                    given_as.push((opt.name, one));
                }
            }
            several => {
                return Err(ModuleError::invalid_args(format!(
                    "{module}: options {} are names of one option ('{}'); give only one of them",
                    quoted(several, " and "),
                    opt.name,
                )));
            }
        }
    }
    for group in constraints.mutually_exclusive {
        let set: Vec<&str> = group.iter().copied().filter(|n| given.contains_key(*n)).collect();
        if set.len() > 1 {
            return Err(ModuleError::invalid_args(format!(
                "{module}: options {} are mutually exclusive; give at most one",
                quoted(&set, ", ")
            )));
        }
    }
    for group in constraints.required_together {
        let set = group.iter().filter(|n| given.contains_key(**n)).count();
        if set > 0 && set < group.len() {
            return Err(ModuleError::invalid_args(format!(
                "{module}: options {} go together; give all of them or none",
                quoted(group, ", ")
            )));
        }
    }
    let mut out = Map::new();
    for opt in spec {
        let value = match (given.get(opt.name), opt.default.to_json()) {
            (Some(v), _) => v.clone(),
            (None, _) if opt.required => {
                return Err(ModuleError::invalid_args(format!(
                    "{module}: missing required option '{}'",
                    opt.name
                )))
            }
            (None, Some(default)) => default,
            (None, None) => continue,
        };
        let coerced = coerce_opt(opt, &value).map_err(|why| {
            let alias = given_as
                .iter()
                .find(|(name, _)| *name == opt.name)
                .map(|(_, alias)| format!(" (given as '{alias}')"))
                .unwrap_or_default();
            ModuleError::invalid_args(format!("{module}: option '{}'{alias} {why}", opt.name))
        })?;
        out.insert(opt.name.to_string(), coerced);
    }
    Ok(out)
}

fn quoted(names: &[&str], sep: &str) -> String {
    names.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(sep)
}

/// Which options exclude each other and which go together (names of options, not aliases).
#[derive(Debug, Clone, Copy, Default)]
pub struct Constraints {
    pub mutually_exclusive: &'static [&'static [&'static str]],
    pub required_together: &'static [&'static [&'static str]],
}

/// One option's value coerced to its kind (a list's items to its elements), then checked
/// against its choices (each item's, for a list).
fn coerce_opt(opt: &Opt, v: &Value) -> Result<Value, String> {
    let value = match opt.kind {
        Kind::List => coerce_list(opt.elements, v)?,
        kind => coerce(kind, v)?,
    };
    if opt.choices.is_empty() {
        return Ok(value);
    }
    let items = match &value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    for item in &items {
        let s = match item {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !opt.choices.contains(&s.as_str()) {
            let shown = match v {
                Value::String(s) => format!("'{s}'"),
                other => other.to_string(),
            };
            return Err(format!("must be one of: {}, got {shown}", opt.choices.join(", ")));
        }
    }
    Ok(value)
}

fn coerce_list(elements: Kind, v: &Value) -> Result<Value, String> {
    let items: Vec<Value> = match v {
        Value::Array(items) => items.clone(),
        Value::String(s) if s.is_empty() => vec![],
        Value::String(s) => s.split(',').map(|p| Value::String(p.trim().to_string())).collect(),
        _ => return Err(format!("must be a list, got {}", type_name(v))),
    };
    items
        .iter()
        .map(|i| coerce(elements, i))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
        .map_err(|_| format!("must be a list of {}s", elements.doc_type()))
}

/// Deserializes validated options into a module's typed struct.
pub fn into_typed<T: DeserializeOwned>(module: &str, opts: Map<String, Value>) -> Result<T, ModuleError> {
    serde_json::from_value(Value::Object(opts)).map_err(|e| ModuleError::invalid_args(format!("{module}: {e}")))
}

fn coerce(kind: Kind, v: &Value) -> Result<Value, String> {
    let shown = || match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    };
    match kind {
        Kind::Str => match v {
            Value::String(_) => Ok(v.clone()),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(format!("must be a string, got {}", type_name(v))),
        },
        Kind::Bool => coerce_bool(v)
            .map(Value::Bool)
            .ok_or_else(|| format!("must be a boolean (yes/no, true/false, on/off, 1/0), got {}", shown())),
        Kind::Int => coerce_int(v)
            .map(Value::from)
            .ok_or_else(|| format!("must be an integer, got {}", shown())),
        Kind::Duration => coerce_duration(v).map(Value::from).ok_or_else(|| {
            format!(
                "must be a duration in seconds or with a unit (90, 90s, 5m, 1h30m, 2d), got {}",
                shown()
            )
        }),
        Kind::List => coerce_list(Kind::Str, v),
        Kind::Dict => match v {
            Value::Object(_) => Ok(v.clone()),
            _ => Err(format!("must be a mapping, got {}", type_name(v))),
        },
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

pub fn coerce_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "t" | "on" | "1" | "1.0" => Some(true),
            "no" | "n" | "false" | "f" | "off" | "0" | "0.0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn coerce_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// Seconds from `90`, `"90"`, `"90s"`, `"5m"`, `"1h30m"`, `"2d"`; never negative.
pub fn coerce_duration(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_duration(s),
        _ => None,
    }
}

fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    if text.is_empty() {
        return None;
    }
    if let Ok(n) = text.parse::<u64>() {
        return Some(n);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    // Trailing digits without a unit ("1m30") are ambiguous: refuse them.
    digits.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC: &[Opt] = &[
        Opt::new("name", Kind::Str).required(),
        Opt::new("wait", Kind::Bool).default_bool(true),
        Opt::new("count", Kind::Int),
        Opt::new("command_timeout", Kind::Duration)
            .default_str("2m")
            .aliases(&["timeout"]),
        Opt::new("mode", Kind::Str).choices(&["online", "offline"]),
        Opt::new("volumes", Kind::List),
        Opt::new("password", Kind::Str).secret(),
    ];

    fn user(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn check(user: &Map<String, Value>) -> Result<Map<String, Value>, ModuleError> {
        let spec: Vec<&Opt> = SPEC.iter().collect();
        validate("m", &spec, &Constraints::default(), user)
    }

    #[test]
    fn internal_keys_of_every_release_are_accepted() {
        let raw = parse_args_text(
            r#"{"name": "x", "_ansible_check_mode": true, "_ansible_diff": "yes",
                "_ansible_verbosity": 2, "_ansible_version": "2.17.14",
                "_ansible_string_conversion_action": "warn", "_ansible_tracebacks_for": [],
                "_ansible_inject_invocation": false, "_ansible_tmpdir": null,
                "_keel_module": "gluster_facts"}"#,
        )
        .unwrap();
        assert!(raw.context.check_mode);
        assert!(raw.context.diff);
        assert_eq!(raw.context.verbosity, 2);
        assert_eq!(raw.keel_module.as_deref(), Some("gluster_facts"));
        assert_eq!(raw.user.len(), 1);
    }

    #[test]
    fn not_an_object_is_a_clear_error() {
        for text in ["", "[1]", "name=x"] {
            let err = parse_args_text(text).unwrap_err();
            assert!(err.to_string().contains("args file"), "{err}");
        }
    }

    #[test]
    fn unknown_option_names_it_and_lists_the_valid_ones() {
        let err = check(&user(json!({"name": "a", "wiat": true}))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("'wiat'"), "{msg}");
        assert!(
            msg.contains("command_timeout (alias timeout), count, mode, name, password, volumes, wait"),
            "{msg}"
        );
    }

    #[test]
    fn missing_required_option_is_named() {
        let msg = check(&user(json!({}))).unwrap_err().to_string();
        assert!(msg.contains("missing required option 'name'"), "{msg}");
    }

    #[test]
    fn booleans_coerce_like_ansible() {
        for (given, want) in [
            (json!("yes"), true),
            (json!("No"), false),
            (json!("TRUE"), true),
            (json!("off"), false),
            (json!("On"), true),
            (json!("1"), true),
            (json!(0), false),
            (json!(true), true),
        ] {
            let out = check(&user(json!({"name": "a", "wait": given.clone()}))).unwrap();
            assert_eq!(out["wait"], json!(want), "{given}");
        }
        let msg = check(&user(json!({"name": "a", "wait": "maybe"})))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("option 'wait' must be a boolean") && msg.contains("'maybe'"),
            "{msg}"
        );
    }

    #[test]
    fn integers_and_durations_coerce_from_strings() {
        let out = check(&user(json!({"name": 5, "count": "42", "timeout": "1h30m"}))).unwrap();
        assert_eq!(out["name"], json!("5"));
        assert_eq!(out["count"], json!(42));
        assert_eq!(out["command_timeout"], json!(5400));
        for (given, want) in [("90", 90), ("90s", 90), ("5m", 300), ("2d", 172800), (" 10S ", 10)] {
            assert_eq!(parse_duration(given), Some(want), "{given}");
        }
        for bad in ["", "ten", "1m30", "-5", "5w"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        let msg = check(&user(json!({"name": "a", "count": "many"})))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("option 'count' must be an integer"), "{msg}");
    }

    #[test]
    fn choices_and_lists() {
        let out = check(&user(json!({"name": "a", "mode": "online", "volumes": "gv0, gv1"}))).unwrap();
        assert_eq!(out["volumes"], json!(["gv0", "gv1"]));
        let msg = check(&user(json!({"name": "a", "mode": "sideways"})))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("must be one of: online, offline"), "{msg}");
    }

    #[test]
    fn defaults_are_filled_from_the_spec_and_coerced() {
        let out = check(&user(json!({"name": "a", "wait": null}))).unwrap();
        assert_eq!(out["wait"], json!(true));
        assert_eq!(out["command_timeout"], json!(120));
        assert!(!out.contains_key("count"), "no default, not given: absent");
    }

    #[test]
    fn aliases_resolve_and_an_option_given_twice_is_refused() {
        let out = check(&user(json!({"name": "a", "timeout": "90"}))).unwrap();
        assert_eq!(out["command_timeout"], json!(90));
        assert!(!out.contains_key("timeout"));
        let msg = check(&user(json!({"name": "a", "timeout": 5, "command_timeout": 6})))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("'command_timeout'") && msg.contains("'timeout'"), "{msg}");
    }

    #[test]
    fn constraints_and_list_choices() {
        const S: &[Opt] = &[
            Opt::new("user", Kind::Str),
            Opt::new("password", Kind::Str),
            Opt::new("token", Kind::Str),
            Opt::new("checks", Kind::List).choices(&["a", "b"]),
        ];
        let spec: Vec<&Opt> = S.iter().collect();
        let c = Constraints {
            mutually_exclusive: &[&["token", "user"]],
            required_together: &[&["user", "password"]],
        };
        let run = |v: Value| validate("m", &spec, &c, &user(v));
        assert!(run(json!({"user": "u", "password": "p", "checks": "a,b"})).is_ok());
        let msg = run(json!({"user": "u"})).unwrap_err().to_string();
        assert!(msg.contains("'user', 'password' go together"), "{msg}");
        let msg = run(json!({"user": "u", "password": "p", "token": "t"}))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("'token', 'user' are mutually exclusive"), "{msg}");
        let msg = run(json!({"checks": ["a", "c"]})).unwrap_err().to_string();
        assert!(msg.contains("option 'checks' must be one of: a, b"), "{msg}");
    }
}
