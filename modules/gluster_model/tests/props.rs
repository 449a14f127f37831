//! Property tests of every parser of `gluster` output: arbitrary text, the captured fixtures
//! mutated (spans cut, repeated or replaced, huge numbers, truncation) and generated XML built
//! from the element names the parsers read. None may panic; what a parser returns is bounded by
//! what it read (no allocation sized by a number in the input); the heal entry list stops at its
//! limit. `PROPTEST_CASES` sets the number of cases (default 256; `cargo xtask proptest` runs
//! 100,000, BENCHMARKS.md).

use std::path::Path;
use std::sync::OnceLock;

use keel_gluster_model::parse::*;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig::default()
}

/// Every captured output, XML and text.
fn fixtures() -> &'static [String] {
    static ALL: OnceLock<Vec<String>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut out = Vec::new();
        let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "xml" || x == "txt") {
                    out.push(std::fs::read_to_string(&p).unwrap());
                }
            }
        }
        out.sort();
        assert!(out.len() > 50, "fixtures not found");
        out
    })
}

#[path = "../../../tests/support/mutate.rs"]
mod mutate;
use mutate::{apply, Edit};

fn edit() -> impl Strategy<Value = Edit> {
    mutate::edit(piece(), 200)
}

/// Text likely to matter inside gluster's XML.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "<",
            ">",
            "/",
            "&",
            "&amp;",
            "&#0;",
            "&#x110000;",
            "<!--",
            "-->",
            "<![CDATA[x]]>",
            "<!DOCTYPE x [<!ENTITY a 'b'>]>",
            "<opRet>0</opRet>",
            "<opRet>-1</opRet>",
            "<opRet></opRet>",
            "<opErrno>",
            "</cliOutput>",
            "<brick>",
            "</brick>",
            "<file gfid=\"\">",
            "</file>",
            "<peer>",
            "<volume>",
            "-1",
            "18446744073709551616",
            "4294967296",
            ":/",
            "\u{0}",
            "é",
        ])
        .prop_map(str::to_string),
        "[<>/a-zA-Z0-9 =\"]{0,30}",
    ]
}

/// Element names the parsers look for, and a few they do not.
const NAMES: &[&str] = &[
    "cliOutput",
    "opRet",
    "opErrno",
    "opErrstr",
    "peerStatus",
    "peer",
    "uuid",
    "hostname",
    "hostnames",
    "connected",
    "state",
    "stateStr",
    "volInfo",
    "volumes",
    "volume",
    "name",
    "id",
    "status",
    "statusStr",
    "brickCount",
    "bricks",
    "brick",
    "isArbiter",
    "type",
    "typeStr",
    "distCount",
    "replicaCount",
    "arbiterCount",
    "disperseCount",
    "redundancyCount",
    "options",
    "option",
    "value",
    "volStatus",
    "node",
    "path",
    "peerid",
    "port",
    "pid",
    "tasks",
    "task",
    "healInfo",
    "file",
    "numberOfEntries",
    "numberOfEntriesInHealPending",
    "numberOfEntriesInSplitBrain",
    "numberOfEntriesPossiblyHealing",
    "totalNumberOfEntries",
    "volGetopts",
    "Opt",
    "Option",
    "Value",
    "geoRep",
    "pair",
    "session",
    "session_secondary",
    "session_slave",
    "primary_node",
    "master_node",
    "secondary",
    "slave",
    "secondary_node",
    "slave_node",
    "secondary_user",
    "crawl_status",
    "checkpoint_time",
    "checkpoint_completed",
    "hostUuid",
    "volName",
    "gfid",
    "x",
];

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "1",
            "-1",
            "3",
            "6",
            "2",
            "Started",
            "Connected",
            "Yes",
            "No",
            "N/A",
            "Active",
            "Passive",
            "Faulty",
            "Peer in Cluster",
            "Peer Rejected",
            "localhost",
            "node1:/bricks/b1",
            "18446744073709551616",
            "",
        ])
        .prop_map(str::to_string),
        "[a-z0-9:/._ -]{0,16}",
    ]
}

#[derive(Debug, Clone)]
enum Tree {
    Text(String),
    Element(&'static str, Vec<(&'static str, String)>, Vec<Tree>),
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = (prop::sample::select(NAMES), text_value())
        .prop_map(|(n, t)| Tree::Element(n, Vec::new(), vec![Tree::Text(t)]));
    leaf.prop_recursive(6, 200, 12, |inner| {
        (
            prop::sample::select(NAMES),
            prop::collection::vec((prop::sample::select(&["gfid", "name", "x"][..]), text_value()), 0..2),
            prop::collection::vec(inner, 0..12),
        )
            .prop_map(|(n, attrs, kids)| Tree::Element(n, attrs, kids))
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}

fn render(t: &Tree, out: &mut String) {
    match t {
        Tree::Text(s) => out.push_str(&escape(s)),
        Tree::Element(n, attrs, kids) => {
            out.push('<');
            out.push_str(n);
            for (k, v) in attrs {
                out.push_str(&format!(" {k}=\"{}\"", escape(v)));
            }
            out.push('>');
            for k in kids {
                render(k, out);
            }
            out.push_str(&format!("</{n}>"));
        }
    }
}

fn leaf(name: &'static str) -> BoxedStrategy<Tree> {
    text_value()
        .prop_map(move |t| Tree::Element(name, Vec::new(), vec![Tree::Text(t)]))
        .boxed()
}

fn none() -> BoxedStrategy<Vec<Tree>> {
    Just(Vec::new()).boxed()
}

/// An element `name` with fields named like the parsers' (random values, some missing, some
/// repeated) and the `nested` elements.
fn record(name: &'static str, nested: BoxedStrategy<Vec<Tree>>) -> BoxedStrategy<Tree> {
    (
        prop::collection::vec(prop::sample::select(NAMES).prop_flat_map(leaf), 0..14),
        nested,
        prop::collection::vec((prop::sample::select(&["gfid", "name"][..]), text_value()), 0..2),
    )
        .prop_map(move |(mut kids, more, attrs)| {
            kids.extend(more);
            Tree::Element(name, attrs, kids)
        })
        .boxed()
}

fn container(name: &'static str, item: BoxedStrategy<Tree>) -> BoxedStrategy<Tree> {
    prop::collection::vec(item, 0..6)
        .prop_map(move |items| Tree::Element(name, Vec::new(), items))
        .boxed()
}

fn wrap(name: &'static str, inner: BoxedStrategy<Tree>) -> BoxedStrategy<Tree> {
    inner
        .prop_map(move |t| Tree::Element(name, Vec::new(), vec![t]))
        .boxed()
}

fn one(t: BoxedStrategy<Tree>) -> BoxedStrategy<Vec<Tree>> {
    t.prop_map(|t| vec![t]).boxed()
}

/// The shapes each parser reads (pool list, volume info, volume status, heal info, volume get,
/// geo-replication status), filled with random records, or any tree of the element names.
fn shaped() -> BoxedStrategy<Tree> {
    prop_oneof![
        container(
            "peerStatus",
            record("peer", one(container("hostnames", leaf("hostname"))))
        ),
        wrap(
            "volInfo",
            container(
                "volumes",
                record(
                    "volume",
                    (
                        container("bricks", record("brick", none())),
                        container("options", record("option", none()))
                    )
                        .prop_map(|(a, b)| vec![a, b])
                        .boxed(),
                ),
            ),
        ),
        wrap(
            "volStatus",
            container(
                "volumes",
                record(
                    "volume",
                    (
                        prop::collection::vec(record("node", none()), 0..4),
                        container("tasks", record("task", none()))
                    )
                        .prop_map(|(mut a, b)| {
                            a.push(b);
                            a
                        })
                        .boxed(),
                ),
            ),
        ),
        wrap(
            "healInfo",
            container(
                "bricks",
                record("brick", prop::collection::vec(record("file", none()), 0..5).boxed())
            ),
        ),
        container("volGetopts", record("Opt", none())),
        container(
            "geoRep",
            record(
                "volume",
                one(container(
                    "sessions",
                    record("session", prop::collection::vec(record("pair", none()), 0..4).boxed())
                )),
            ),
        ),
        tree().boxed(),
    ]
    .boxed()
}

/// A gluster document: the envelope with opRet 0 (mostly), then the generated elements.
fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(shaped(), 0..4),
        prop::sample::select(&["0", "0", "0", "-1", "x"][..]),
    )
        .prop_map(|(trees, ret)| {
            let mut body = String::new();
            for t in &trees {
                render(t, &mut body);
            }
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<cliOutput><opRet>{ret}</opRet>\
                 <opErrno>0</opErrno><opErrstr/>{body}</cliOutput>"
            )
        })
}

/// Runs every parser on `input`: none panics, and each result is bounded by the input's size.
fn every_parser(input: &str, limit: usize) -> Result<(), TestCaseError> {
    // Linear in the input: an empty element may become a record with every field defaulted.
    let bound = 32 * input.len() + 1024;
    let size = |v: &dyn erased::Size| v.size();
    let _ = check_envelope(input);
    let (host, path) = split_brick(input);
    prop_assert!(host.len() + path.len() <= input.len());
    if let Ok(v) = parse_version(input) {
        prop_assert!(v.text.len() <= input.len());
    }
    if let Some(v) = version_from(input) {
        prop_assert!(v.text.len() <= input.len());
    }
    prop_assert!(size(&parse_peers(input)) <= bound);
    prop_assert!(size(&parse_volume_info(input)) <= bound);
    prop_assert!(size(&parse_volume_status(input)) <= bound);
    prop_assert!(size(&parse_heal_summary(input)) <= bound);
    prop_assert!(size(&parse_volume_get(input)) <= bound);
    prop_assert!(size(&parse_georep_status(input)) <= bound);
    let _ = parse_op_version(input, "cluster.op-version");
    let secondaries = georep_store_secondaries(input);
    prop_assert!(secondaries.iter().map(String::len).sum::<usize>() <= input.len());
    if let Ok(entries) = parse_heal_entries(input, limit) {
        prop_assert!(
            entries.len() <= limit,
            "{} entries over the limit {limit}",
            entries.len()
        );
        prop_assert!(entries.iter().map(String::len).sum::<usize>() <= bound);
    }
    Ok(())
}

/// The size of a parser's result as JSON (0 for an error).
mod erased {
    pub trait Size {
        fn size(&self) -> usize;
    }
    impl<T: serde::Serialize, E> Size for Result<T, E> {
        fn size(&self) -> usize {
            self.as_ref()
                .map(|v| serde_json::to_string(v).map_or(0, |s| s.len()))
                .unwrap_or(0)
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics_a_parser(text in ".{0,400}", limit in 0usize..20) {
        every_parser(&text, limit)?;
    }

    #[test]
    fn mutated_fixtures_never_panic_a_parser(
        i in 0usize..1000,
        edits in prop::collection::vec(edit(), 1..6),
        limit in 0usize..20,
    ) {
        let all = fixtures();
        let doc = apply(&all[i % all.len()], &edits);
        every_parser(&doc, limit)?;
    }

    #[test]
    fn generated_documents_never_panic_a_parser(doc in document(), limit in 0usize..20) {
        every_parser(&doc, limit)?;
    }
}

#[test]
fn every_fixture_passes_the_parsers_unchanged() {
    for doc in fixtures() {
        every_parser(doc, 5).unwrap();
    }
}

/// Found by reading the geo-replication parser for this suite: a volume nested in a volume (a
/// `geoRep` inside each) had its sessions read once per level above it, output quadratic in the
/// input.
#[test]
fn nested_geo_replication_volumes_read_each_session_once() {
    let depth = 200;
    let sessions = "<sessions><session><pair><secondary>root@h::sv</secondary></pair></session></sessions>".repeat(50);
    let xml = format!(
        "<cliOutput><opRet>0</opRet>{}{sessions}{}</cliOutput>",
        "<geoRep><volume><name>v</name>".repeat(depth),
        "</volume></geoRep>".repeat(depth)
    );
    let read = parse_georep_status(&xml).unwrap();
    assert_eq!(read.len(), 50);
    every_parser(&xml, 5).unwrap();
}
