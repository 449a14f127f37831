//! Secret masking: values of options declared secret never leave the module in clear text.

use serde_json::Value;

pub const MASK: &str = "********";

#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    pub fn new(mut values: Vec<String>) -> Self {
        values.retain(|v| !v.is_empty());
        // Longest first, so a secret that contains another is masked whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Secrets { values }
    }

    pub fn mask_str(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.values {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    /// Masks every string in `value`, at any depth, keys included.
    pub fn mask_value(&self, value: Value) -> Value {
        if self.values.is_empty() {
            return value;
        }
        match value {
            Value::String(s) => Value::String(self.mask_str(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.mask_value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.mask_str(&k), self.mask_value(v)))
                    .collect(),
            ),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_nested_strings_and_keys_longest_first() {
        let s = Secrets::new(vec!["tok".into(), "token123".into(), String::new()]);
        let out = s.mask_value(json!({"msg": "url?t=token123&x=tok", "list": [["a tok"]], "tok": 1, "n": 5}));
        assert_eq!(
            out,
            json!({"msg": "url?t=********&x=********", "list": [["a ********"]], "********": 1, "n": 5})
        );
    }

    #[test]
    fn empty_secret_masks_nothing() {
        let s = Secrets::new(vec![String::new()]);
        assert_eq!(s.mask_str("abc"), "abc");
    }
}
