//! A module's spec: its options (type, default, choices, aliases, secrets, documentation), its
//! documentation, examples and return values, and the shared fragments it extends. The runtime
//! validates with it and fills defaults from it; `BINARY --keel-spec` prints it as JSON, from
//! which `cargo xtask collection` generates the collection's documentation stubs, doc fragments,
//! routing and the action plugin's table. Everything here is `const`-constructible.

use serde_json::{json, Map, Value};

/// Whether this build carries the documentation text (feature `docs`): the binaries sent to
/// hosts do not, which keeps them small; `cargo xtask collection` builds one that does and asks
/// it for the specs (`--keel-spec`).
pub const DOCS: bool = cfg!(feature = "docs");

/// `text` in a documentation build, "" otherwise (so the text is not in the binary at all).
pub const fn doc_text(text: &'static str) -> &'static str {
    if DOCS {
        text
    } else {
        ""
    }
}

/// `paragraphs` in a documentation build, none otherwise.
pub const fn doc_list(paragraphs: &'static [&'static str]) -> &'static [&'static str] {
    if DOCS {
        paragraphs
    } else {
        &[]
    }
}

/// The type of one option. Coercion follows AnsibleModule, because users write `"yes"` and
/// `"5"` in YAML and ansible-core passes those to binary modules as strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    Int,
    /// Seconds; accepts `90`, `"90"`, `"90s"`, `"5m"`, `"1h30m"`, `"2d"`. Documented as a string.
    Duration,
    /// A list (of `Opt::elements`); a comma-separated string is split like AnsibleModule does.
    List,
    /// A mapping passed through unchanged.
    Dict,
}

impl Kind {
    /// The type the documentation names (Ansible's `type:`).
    pub const fn doc_type(self) -> &'static str {
        match self {
            Kind::Str | Kind::Duration => "str",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::List => "list",
            Kind::Dict => "dict",
        }
    }
    const fn name(self) -> &'static str {
        match self {
            Kind::Str => "str",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Duration => "duration",
            Kind::List => "list",
            Kind::Dict => "dict",
        }
    }
}

/// An option's default, coerced by the option's kind like a value the user gave (so a
/// duration's default is written as the user would write it: `Str("120")`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    /// No default: the option is absent (`None` in the typed view) unless given.
    None,
    Bool(bool),
    Int(i64),
    Str(&'static str),
    List(&'static [&'static str]),
}

impl DefaultValue {
    pub fn to_json(self) -> Option<Value> {
        match self {
            DefaultValue::None => None,
            DefaultValue::Bool(b) => Some(json!(b)),
            DefaultValue::Int(i) => Some(json!(i)),
            DefaultValue::Str(s) => Some(json!(s)),
            DefaultValue::List(l) => Some(json!(l)),
        }
    }
}

/// One declared option of a module.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub default: DefaultValue,
    /// The values allowed (of the option, or of each element of a list); empty: any.
    pub choices: &'static [&'static str],
    /// The type of a list's elements.
    pub elements: Kind,
    /// Other names the option may be given by (one at a time).
    pub aliases: &'static [&'static str],
    /// Masked as `********` everywhere the result could echo it.
    pub secret: bool,
    /// A URL whose user-info (`scheme://USER:PASSWORD@host`) alone is masked everywhere.
    pub credentials: bool,
    /// The documentation: one or more paragraphs (Ansible markup: C(), O(), RV(), E()...).
    pub description: &'static [&'static str],
}

impl Opt {
    pub const fn new(name: &'static str, kind: Kind) -> Self {
        Opt {
            name,
            kind,
            required: false,
            default: DefaultValue::None,
            choices: &[],
            elements: Kind::Str,
            aliases: &[],
            secret: false,
            credentials: false,
            description: &[],
        }
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
    pub const fn credentials(mut self) -> Self {
        self.credentials = true;
        self
    }
    pub const fn default(mut self, default: DefaultValue) -> Self {
        self.default = default;
        self
    }
    pub const fn default_bool(self, b: bool) -> Self {
        self.default(DefaultValue::Bool(b))
    }
    pub const fn default_int(self, i: i64) -> Self {
        self.default(DefaultValue::Int(i))
    }
    pub const fn default_str(self, s: &'static str) -> Self {
        self.default(DefaultValue::Str(s))
    }
    pub const fn default_list(self, l: &'static [&'static str]) -> Self {
        self.default(DefaultValue::List(l))
    }
    pub const fn choices(mut self, choices: &'static [&'static str]) -> Self {
        self.choices = choices;
        self
    }
    pub const fn elements(mut self, kind: Kind) -> Self {
        self.elements = kind;
        self
    }
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
    pub const fn doc(mut self, paragraphs: &'static [&'static str]) -> Self {
        if DOCS {
            self.description = paragraphs;
        }
        self
    }
    /// The option's name and its aliases.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }

    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), json!(self.name));
        o.insert("kind".into(), json!(self.kind.name()));
        o.insert("type".into(), json!(self.kind.doc_type()));
        o.insert("required".into(), json!(self.required));
        if let Some(d) = self.default.to_json() {
            o.insert("default".into(), d);
        }
        if !self.choices.is_empty() {
            o.insert("choices".into(), json!(self.choices));
        }
        if self.kind == Kind::List {
            o.insert("elements".into(), json!(self.elements.doc_type()));
        }
        if !self.aliases.is_empty() {
            o.insert("aliases".into(), json!(self.aliases));
        }
        o.insert("secret".into(), json!(self.secret));
        o.insert("credentials".into(), json!(self.credentials));
        o.insert("description".into(), json!(self.description));
        Value::Object(o)
    }
}

/// An Ansible module attribute (`check_mode`, `diff_mode`, `platform`).
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    pub name: &'static str,
    /// `full`, `partial` or `none`.
    pub support: &'static str,
    /// `platform` only: the platforms (for example `posix`).
    pub platforms: Option<&'static str>,
    pub description: &'static str,
}

impl Attribute {
    pub const fn new(name: &'static str, support: &'static str, description: &'static str) -> Self {
        Attribute {
            name,
            support,
            platforms: None,
            description: doc_text(description),
        }
    }
    pub const fn platform(platforms: &'static str, description: &'static str) -> Self {
        Attribute {
            name: "platform",
            support: "full",
            platforms: Some(platforms),
            description: doc_text(description),
        }
    }
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), json!(self.name));
        o.insert("support".into(), json!(self.support));
        if let Some(p) = self.platforms {
            o.insert("platforms".into(), json!(p));
        }
        o.insert("description".into(), json!(self.description));
        Value::Object(o)
    }
}

/// What read-only modules (facts, plans and checks) document alike.
pub const READ_ONLY_ATTRIBUTES: &[Attribute] = &[
    Attribute::new("check_mode", "full", "Read-only; runs the same in check mode."),
    Attribute::new("diff_mode", "none", "Changes nothing, so has no diff."),
];

/// Options and documentation several modules share, declared once: a module lists the
/// fragments it extends, takes their options, and its documentation extends the doc fragment
/// generated from it (`keel.storage.gluster` is plugins/doc_fragments/gluster.py's
/// DOCUMENTATION, `keel.storage.gluster.read_only` its READ_ONLY).
#[derive(Debug, Clone, Copy)]
pub struct Fragment {
    /// `keel.storage.FILE` or `keel.storage.FILE.VARIANT`.
    pub name: &'static str,
    /// A comment above it in the generated file.
    pub comment: &'static str,
    pub options: &'static [Opt],
    pub attributes: &'static [Attribute],
    pub requirements: &'static [&'static str],
    /// The action group (meta/runtime.yml) of every module extending it, so one
    /// `module_defaults` entry sets the shared options.
    pub action_group: Option<&'static str>,
}

impl Fragment {
    pub const fn new(name: &'static str, comment: &'static str) -> Self {
        Fragment {
            name,
            comment,
            options: &[],
            attributes: &[],
            requirements: &[],
            action_group: None,
        }
    }
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "comment": self.comment,
            "options": self.options.iter().map(Opt::to_json).collect::<Vec<_>>(),
            "attributes": self.attributes.iter().map(Attribute::to_json).collect::<Vec<_>>(),
            "requirements": self.requirements,
            "action_group": self.action_group,
        })
    }
}
