//! Secret masking: values of options declared secret never leave the module in clear text.

use serde_json::Value;

pub const MASK: &str = "********";

#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    pub fn new(mut values: Vec<String>) -> Self {
        // A secret URL's credentials are secrets on their own too: a program may echo the token
        // of `https://TOKEN@host` without the rest of the URL.
        let credentials: Vec<String> = values.iter().flat_map(|v| url_credentials(v)).collect();
        values.extend(credentials);
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

/// The user-info part of `scheme://USER[:PASSWORD]@host...` and its password alone.
pub fn url_credentials(value: &str) -> Vec<String> {
    let Some((_, rest)) = value.split_once("://") else {
        return Vec::new();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return Vec::new();
    };
    let mut out = vec![userinfo.to_string()];
    if let Some((_, password)) = userinfo.split_once(':') {
        out.push(password.to_string());
    }
    out
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
    fn url_credentials_are_masked_on_their_own() {
        let s = Secrets::new(vec!["https://T0KEN@get.weka.io/dist".into(), "ftp://u:pw9@h".into()]);
        assert_eq!(s.mask_str("GET https://T0KEN@get.weka.io/dist"), "GET ********");
        assert_eq!(
            s.mask_str("bad token T0KEN; user u:pw9, pw9"),
            "bad token ********; user ********, ********"
        );
        assert_eq!(url_credentials("https://get.weka.io/a@b"), Vec::<String>::new());
    }

    #[test]
    fn empty_secret_masks_nothing() {
        let s = Secrets::new(vec![String::new()]);
        assert_eq!(s.mask_str("abc"), "abc");
    }
}
