//! The house's rules, checked on the source: no file of `src/` imports from a
//! layer above its own, no import circle between files, and no `unsafe` in
//! the `keyhier` crate. Paths are read as text (`crate::a::b` outside
//! comments), the way a reader sees them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first (ARCHITECTURE.md).
const LAYERS: [&str; 13] = [
    "error", "stats", "sysinfo", "crypto", "graph", "store", "engine", "analysis", "suite",
    "report", "fuzzing", "cli", "main",
];

fn rank(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == top)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source without `//` comments (doc links may point anywhere).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Module path of a file relative to `src/`: `engine/workload/mod.rs` → `engine::workload`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// `crate::x::y::Z` paths of a file, as segment lists.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let tail = &rest[i + 7..];
        let path: String = tail
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        out.push(
            path.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        );
        rest = &tail[path.len().max(1).min(tail.len())..];
    }
    out
}

struct Tree {
    /// Module path → file (relative to src/).
    files: BTreeMap<Vec<String>, PathBuf>,
    /// File → the files it imports.
    edges: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
}

fn tree() -> Tree {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    sources(&src, &mut all);
    let mut files = BTreeMap::new();
    for f in &all {
        let rel = f.strip_prefix(&src).unwrap().to_path_buf();
        files.insert(module_of(&rel), rel);
    }
    let mut edges = BTreeMap::new();
    for f in &all {
        let rel = f.strip_prefix(&src).unwrap().to_path_buf();
        let text = code(&std::fs::read_to_string(f).unwrap());
        let mut to = BTreeSet::new();
        for p in crate_paths(&text) {
            // The longest prefix naming a file.
            if let Some(target) = (1..=p.len()).rev().find_map(|n| files.get(&p[..n]))
                && *target != rel
            {
                to.insert(target.clone());
            }
        }
        edges.insert(rel, to);
    }
    Tree { files, edges }
}

fn top(rel: &Path) -> String {
    rel.iter()
        .next()
        .unwrap()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

#[test]
fn no_file_imports_from_a_layer_above_its_own() {
    let t = tree();
    assert!(t.files.len() > 20, "found the sources");
    let mut bad = Vec::new();
    for (from, tos) in &t.edges {
        if from == Path::new("lib.rs") {
            continue;
        }
        let me = rank(&top(from)).unwrap_or_else(|| panic!("{from:?} is in no layer"));
        for to in tos {
            let them = rank(&top(to)).unwrap_or_else(|| panic!("{to:?} is in no layer"));
            if them > me {
                bad.push(format!("{} -> {}", from.display(), to.display()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports from a higher layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_import_circle_between_files() {
    let t = tree();
    // Tarjan's strongly connected components.
    struct S<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a Path, usize>,
        low: BTreeMap<&'a Path, usize>,
        stack: Vec<&'a Path>,
        on: BTreeSet<&'a Path>,
        next: usize,
        circles: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut S<'a>, v: &'a Path) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            let w = w.as_path();
            if !s.index.contains_key(w) {
                visit(s, w);
                let l = s.low[w].min(s.low[v]);
                s.low.insert(v, l);
            } else if s.on.contains(w) {
                let l = s.index[w].min(s.low[v]);
                s.low.insert(v, l);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.display().to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.circles.push(comp);
            }
        }
    }
    let mut s = S {
        edges: &t.edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        circles: Vec::new(),
    };
    let nodes: Vec<&Path> = t
        .edges
        .keys()
        .filter(|p| *p != Path::new("lib.rs"))
        .map(PathBuf::as_path)
        .collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    assert!(s.circles.is_empty(), "import circles: {:?}", s.circles);
}

#[test]
fn the_keyhier_crate_forbids_unsafe_code() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    sources(&src, &mut all);
    let mut found = Vec::new();
    for f in &all {
        for (i, line) in std::fs::read_to_string(f).unwrap().lines().enumerate() {
            if line.contains("unsafe") && !line.contains("#![forbid(unsafe_code)]") {
                found.push(format!("{}:{}: {line}", f.display(), i + 1));
            }
        }
    }
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert!(
        lib.contains("#![forbid(unsafe_code)]"),
        "lib.rs forbids unsafe code"
    );
    assert!(found.is_empty(), "unsafe in src/:\n{}", found.join("\n"));
}
