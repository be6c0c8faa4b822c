//! Known-item queries over the sample regulations, for the ranking test and the search
//! benchmarks alike: for each document, a fragment a researcher might paste (8–12 characters
//! cut at random, not on word boundaries) that occurs in no other document while each of its
//! words occurs in at least five others — so that scoring the words alone cannot tell the
//! document apart — and each title.
//!
//! The truth is a plain substring scan over the files, independent of the index.

use std::path::Path;

use memchr::memmem;

/// One sample regulation, as its manifest and file give it.
pub struct Sample {
    /// The document id the index gives the file (its hash, its one section).
    pub id: String,
    pub title: String,
    pub text: String,
}

/// A query and the sample it must find.
pub struct KnownItem {
    pub sample: usize,
    pub query: String,
}

#[derive(serde::Deserialize)]
struct ManifestLine {
    file: String,
    title: String,
    sha256: String,
}

/// Fragment lengths in characters.
const SHORTEST: usize = 8;
const LONGEST: usize = 12;
/// Other documents each word of a fragment must occur in.
const OTHER_DOCUMENTS_PER_WORD: usize = 5;
/// Random cuts tried per document before it is left without a fragment.
const TRIES: usize = 400;

/// The samples of `dir` (a directory with `manifest.jsonl`), in manifest order.
pub fn load(dir: &Path) -> Vec<Sample> {
    let manifest = std::fs::read_to_string(dir.join("manifest.jsonl")).expect("manifest");
    manifest
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let line: ManifestLine = serde_json::from_str(l).expect("manifest line");
            let text = std::fs::read_to_string(dir.join(&line.file)).expect("sample file");
            Sample {
                id: gongwen::ingest::document_id(&line.sha256, 1),
                title: line.title,
                text,
            }
        })
        .collect()
}

/// Each sample's title as a query.
pub fn titles(samples: &[Sample]) -> Vec<KnownItem> {
    samples
        .iter()
        .enumerate()
        .map(|(sample, s)| KnownItem {
            sample,
            query: s.title.clone(),
        })
        .collect()
}

/// At most one fragment per sample (see the module), cut by a generator seeded with `seed`;
/// `words` segments a fragment the way the engine reads a query. A sample gets none when no
/// cut within [`TRIES`] qualifies.
pub fn fragments(
    samples: &[Sample],
    words: impl Fn(&str) -> Vec<String>,
    seed: u64,
) -> Vec<KnownItem> {
    let corpus = Corpus::new(samples);
    let mut random = SplitMix(seed);
    let mut out = Vec::new();
    for (sample, s) in samples.iter().enumerate() {
        let lines: Vec<Vec<char>> = body_lines(&s.text)
            .map(|l| l.chars().collect())
            .filter(|l: &Vec<char>| l.len() >= LONGEST)
            .collect();
        if lines.is_empty() {
            continue;
        }
        for _ in 0..TRIES {
            let line = &lines[random.below(lines.len())];
            let len = SHORTEST + random.below(LONGEST - SHORTEST + 1);
            let start = random.below(line.len() - len + 1);
            let fragment: String = line[start..start + len].iter().collect();
            if !fragment.chars().all(typable) || !fragment.chars().next().is_some_and(is_han) {
                continue;
            }
            let parts = words(&fragment);
            if parts.len() < 2 || corpus.documents_with(&fragment, sample, 1) > 0 {
                continue;
            }
            if parts.iter().all(|w| {
                corpus.documents_with(w, sample, OTHER_DOCUMENTS_PER_WORD)
                    >= OTHER_DOCUMENTS_PER_WORD
            }) {
                out.push(KnownItem {
                    sample,
                    query: fragment,
                });
                break;
            }
        }
    }
    out
}

/// The lines of a sample's body: after its metadata block, without headings.
fn body_lines(text: &str) -> impl Iterator<Item = &str> {
    let body = text.split("<!-- INFO END -->").nth(1).unwrap_or(text);
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// Characters a pasted fragment keeps as text: Han characters, digits and the sentence
/// punctuation inside a line (no spaces, brackets, quotes or markup, which the query
/// language reads as syntax).
fn typable(c: char) -> bool {
    is_han(c) || c.is_ascii_digit() || "，、；：。".contains(c)
}

/// Every sample's title and text in one buffer, for counting the documents a string occurs in.
struct Corpus {
    bytes: Vec<u8>,
    /// Start of each sample's part of `bytes`, and the end at the last place.
    starts: Vec<usize>,
}

impl Corpus {
    fn new(samples: &[Sample]) -> Corpus {
        let mut bytes = Vec::new();
        let mut starts = Vec::new();
        for s in samples {
            starts.push(bytes.len());
            bytes.extend_from_slice(s.title.as_bytes());
            bytes.push(0);
            bytes.extend_from_slice(s.text.as_bytes());
            bytes.push(0);
        }
        starts.push(bytes.len());
        Corpus { bytes, starts }
    }

    /// How many samples other than `own` contain `needle`, counting up to `enough`.
    fn documents_with(&self, needle: &str, own: usize, enough: usize) -> usize {
        let mut found = 0;
        let mut last: Option<usize> = None;
        for at in memmem::find_iter(&self.bytes, needle.as_bytes()) {
            let doc = self.starts.partition_point(|&s| s <= at) - 1;
            if doc == own || last == Some(doc) {
                continue;
            }
            last = Some(doc);
            found += 1;
            if found >= enough {
                break;
            }
        }
        found
    }
}

/// A small deterministic generator (SplitMix64), so every run cuts the same fragments (the
/// fuzz tests draw from it too).
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
