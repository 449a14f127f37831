//! Fixture mutation shared by the parsers' property tests (included with `#[path]`, not a crate):
//! changes to a captured document at positions given as fractions of its length, so that every
//! change lands inside whatever document it is applied to.

use proptest::prelude::*;

/// One change to a document.
#[derive(Debug, Clone)]
pub enum Edit {
    Cut(f64, usize),
    Repeat(f64, usize, usize),
    Insert(f64, String),
    /// A run of digits made enormous (an allocation sized by a number must not follow).
    HugeNumber(f64),
    Truncate(f64),
}

/// Any edit, inserting text from `piece`; `max_span` bounds what a cut or a repeat takes.
pub fn edit(piece: impl Strategy<Value = String> + 'static, max_span: usize) -> BoxedStrategy<Edit> {
    prop_oneof![
        (0.0..1.0, 0usize..max_span).prop_map(|(at, n)| Edit::Cut(at, n)),
        (0.0..1.0, 1usize..max_span + 100, 1usize..50).prop_map(|(at, n, times)| Edit::Repeat(at, n, times)),
        (0.0..1.0, piece).prop_map(|(at, s)| Edit::Insert(at, s)),
        (0.0..1.0).prop_map(Edit::HugeNumber),
        (0.0..1.0).prop_map(Edit::Truncate),
    ]
    .boxed()
}

/// `doc` with `edits` applied in turn (bytes; the result read back lossily as UTF-8).
pub fn apply(doc: &str, edits: &[Edit]) -> String {
    let mut b = doc.as_bytes().to_vec();
    let at = |f: f64, len: usize| ((f * len as f64) as usize).min(len);
    for e in edits {
        match e {
            Edit::Cut(f, n) => {
                let i = at(*f, b.len());
                let end = (i + n).min(b.len());
                b.drain(i..end);
            }
            Edit::Repeat(f, n, times) => {
                let i = at(*f, b.len());
                let span = b[i..(i + n).min(b.len())].to_vec();
                for _ in 0..*times {
                    b.splice(i..i, span.iter().copied());
                }
            }
            Edit::Insert(f, s) => {
                let i = at(*f, b.len());
                b.splice(i..i, s.bytes());
            }
            Edit::HugeNumber(f) => {
                let i = at(*f, b.len());
                if let Some(d) = b[i..].iter().position(u8::is_ascii_digit) {
                    b.splice(i + d..i + d, b"99999999999999999999".iter().copied());
                }
            }
            Edit::Truncate(f) => b.truncate(at(*f, b.len())),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}
