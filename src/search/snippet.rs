//! Snippets: a window of the original text around the matched terms, `<mark>`ed, the rest
//! HTML-escaped.
//!
//! Where the terms matched comes from the index, not from the text: the character field
//! keeps each character's position, which is its index in the text, so [`Matcher`]
//! reads the first positions of each term in the hit ([`Matcher`]) and the window is cut out of the text
//! around them; only those few hundred characters are folded and looked through. A hit
//! costs the same however long its document.
//!
//! Marking follows the character analyzer of the index (one token per Han character or
//! Latin/digit run, punctuation a gap of one), so a term typed in simplified characters marks
//! the traditional characters it matched, and `浦府办[2010]98号` marks `浦府辦〔2010〕98號`.

use std::sync::Arc;

use tantivy::index::InvertedIndexReader;
use tantivy::postings::{Postings, SegmentPostings, TermInfo};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocId, DocSet, Searcher, SegmentReader, Term};

use crate::analysis::{self, Analyzed};
use crate::lang::fold;

/// Characters of context shown around the matches.
const WINDOW_CHARS: usize = 120;
/// Characters shown before the first match of the window.
const LEAD_CHARS: usize = 20;
/// Distinct terms marked, at most.
pub const MAX_TERMS: usize = 32;
/// Tokens of one term matched, at most: a longer term is marked by its words, which the query
/// also lists, so a pasted page costs no more to mark than a sentence.
const MAX_TERM_TOKENS: usize = 32;
/// Positions of one term read, at most: the snippet comes from the first matches.
const MAX_MATCHES_PER_TERM: usize = 16;

/// Where the patterns of a query occur in its hits, read from a character field with
/// positions. The hits are visited segment by segment in document order, so each token's
/// postings are opened once per segment and only move forward; in a hit, a token's positions
/// are read at most once, a pattern's rarest token first, and its other tokens only while the
/// pattern can still match.
pub struct Matcher<'p> {
    patterns: &'p Patterns,
    field: Field,
}

impl<'p> Matcher<'p> {
    pub fn new(patterns: &'p Patterns, field: Field) -> Matcher<'p> {
        Matcher { patterns, field }
    }

    /// For each of `hits`, in their order, where the patterns occur in it: (character
    /// position, pattern index) pairs sorted by position, at most [`MAX_MATCHES_PER_TERM`]
    /// per pattern (the first ones). A pattern of several tokens occurs where all of them
    /// stand at their relative positions.
    pub fn positions(
        &self,
        searcher: &Searcher,
        hits: &[DocAddress],
    ) -> tantivy::Result<Vec<Vec<(usize, usize)>>> {
        let mut order: Vec<usize> = (0..hits.len()).collect();
        order.sort_by_key(|&i| hits[i]);
        let mut out = vec![Vec::new(); hits.len()];
        let mut segment: Option<(u32, InSegment)> = None;
        for i in order {
            let address = hits[i];
            let reading = match &mut segment {
                Some((ord, reading)) if *ord == address.segment_ord => reading,
                _ => {
                    let reading = self.in_segment(searcher.segment_reader(address.segment_ord))?;
                    &mut segment.insert((address.segment_ord, reading)).1
                }
            };
            out[i] = reading.matches(self.patterns, address.doc_id)?;
        }
        Ok(out)
    }

    fn in_segment(&self, reader: &SegmentReader) -> tantivy::Result<InSegment> {
        let inverted = reader.inverted_index(self.field)?;
        let terms = self
            .patterns
            .tokens
            .iter()
            .map(|token| inverted.get_term_info(&Term::from_field_text(self.field, token)))
            .collect::<std::io::Result<Vec<_>>>()?;
        let frequency = |token: usize| terms[token].as_ref().map_or(0, |info| info.doc_freq);
        let orders = self
            .patterns
            .patterns
            .iter()
            .map(|pattern| {
                let mut order = pattern.tokens.clone();
                order.sort_by_key(|&(token, _)| frequency(token));
                order
            })
            .collect();
        let postings = (0..terms.len()).map(|_| None).collect();
        Ok(InSegment {
            inverted,
            terms,
            orders,
            postings,
        })
    }
}

/// A matcher's reading of one segment.
struct InSegment {
    inverted: Arc<InvertedIndexReader>,
    /// Each token's term, where the segment has it.
    terms: Vec<Option<TermInfo>>,
    /// Each pattern's (token, offset) pairs, the rarest token first.
    orders: Vec<Vec<(usize, u32)>>,
    /// Each token's postings, once opened.
    postings: Vec<Option<SegmentPostings>>,
}

impl InSegment {
    /// The positions of `token` in `doc` (documents asked about never decrease).
    fn read(&mut self, token: usize, doc: DocId) -> tantivy::Result<Vec<u32>> {
        let mut positions = Vec::new();
        let Some(info) = &self.terms[token] else {
            return Ok(positions);
        };
        let postings = match &mut self.postings[token] {
            Some(postings) => postings,
            slot => slot.insert(
                self.inverted
                    .read_postings_from_terminfo(info, IndexRecordOption::WithFreqsAndPositions)?,
            ),
        };
        if postings.doc() <= doc && postings.seek(doc) == doc {
            postings.positions(&mut positions);
        }
        Ok(positions)
    }

    /// Where `patterns` occur in `doc`.
    fn matches(&mut self, patterns: &Patterns, doc: DocId) -> tantivy::Result<Vec<(usize, usize)>> {
        let mut read: Vec<Option<Vec<u32>>> = vec![None; self.terms.len()];
        let mut found = Vec::new();
        for index in 0..patterns.patterns.len() {
            // Every token's positions, the rarest first; none at all: the pattern is absent.
            let mut absent = false;
            for at in 0..self.orders[index].len() {
                let token = self.orders[index][at].0;
                if read[token].is_none() {
                    read[token] = Some(self.read(token, doc)?);
                }
                if read[token].as_ref().is_none_or(Vec::is_empty) {
                    absent = true;
                    break;
                }
            }
            if absent {
                continue;
            }
            let positions = |token: usize| read[token].as_deref().unwrap_or_default();
            let order = &self.orders[index];
            let (lead, lead_offset) = order[0];
            // Starts where every token stands at its offset, from the rarest token's positions,
            // the first ones only.
            let starts = positions(lead)
                .iter()
                .filter_map(|p| p.checked_sub(lead_offset))
                .filter(|start| {
                    order[1..].iter().all(|&(token, offset)| {
                        positions(token).binary_search(&(start + offset)).is_ok()
                    })
                })
                .take(MAX_MATCHES_PER_TERM);
            found.extend(starts.map(|p| (p as usize, index)));
        }
        found.sort_unstable();
        Ok(found)
    }
}

/// The byte offset of the `n`-th character of the UTF-8 `bytes` (their length when they have
/// fewer): whole blocks are skipped by counting their characters (SIMD), the last one walked.
fn byte_of_char(bytes: &[u8], n: usize) -> usize {
    const BLOCK: usize = 1024;
    let mut seen = 0;
    let mut at = 0;
    for block in bytes.chunks(BLOCK) {
        let here = bytecount::num_chars(block);
        if seen + here > n {
            break;
        }
        seen += here;
        at += block.len();
    }
    let starts_char = |b: &u8| (*b as i8) >= -0x40;
    for (i, b) in bytes[at..].iter().enumerate() {
        if starts_char(b) {
            if seen == n {
                return at + i;
            }
            seen += 1;
        }
    }
    bytes.len()
}

/// A snippet of `text` (UTF-8 bytes, checked only in the window shown): the window that holds
/// the most distinct terms among those starting a little before one of `matches` (as
/// [`Matcher::positions`] gives them; the start of the text when there are none), with every
/// occurrence of `terms` in it marked.
pub fn snippet(
    text: &[u8],
    matches: &[(usize, usize)],
    patterns: &Patterns,
) -> Result<String, std::str::Utf8Error> {
    let start = byte_of_char(text, window_start(matches));
    let end = start + byte_of_char(&text[start..], WINDOW_CHARS);
    let window = std::str::from_utf8(&text[start..end])?;
    Ok(marked(window, start > 0, end < text.len(), patterns, false))
}

/// The whole of `text` with every occurrence of `patterns` marked, the rest escaped and its
/// line breaks kept: the document view's text.
pub fn highlight(text: &str, patterns: &Patterns) -> String {
    marked(text, false, false, patterns, true)
}

/// `window` with every occurrence of `patterns` marked, `…` where the text it was cut from
/// goes on before or after it; line breaks kept or turned into spaces.
fn marked(
    window: &str,
    cut_before: bool,
    cut_after: bool,
    patterns: &Patterns,
    keep_breaks: bool,
) -> String {
    // Folded character for character (context-free), so positions in the window stay put.
    let folded: Vec<char> = window
        .chars()
        .map(|c| fold::fold_char(fold::simplify_char(c)))
        .collect();
    let offsets = analysis::char_offsets(window);
    let leads = &patterns.leads;
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (at, c) in folded.iter().enumerate() {
        let first = leads.partition_point(|(lead, _)| lead < c);
        for &(_, index) in leads[first..].iter().take_while(|(lead, _)| lead == c) {
            if let Some(end) = occurs_at(&folded, at, &patterns.patterns[index].units) {
                spans.push((offsets[at], offsets[end]));
            }
        }
    }
    spans.sort_unstable();
    render(window, cut_before, cut_after, &merge(&spans), keep_breaks)
}

/// The character the window starts at: a little before the match (among the first ones)
/// whose window of [`WINDOW_CHARS`] holds the most distinct terms, the earliest among equals.
/// One pass over the (sorted) matches, the window's terms counted as it slides.
fn window_start(matches: &[(usize, usize)]) -> usize {
    let mut in_window = [0usize; MAX_TERMS];
    let mut distinct = 0;
    let (mut from, mut to) = (0, 0);
    let mut best: Option<(usize, usize)> = None;
    for &(position, _) in matches {
        let start = position.saturating_sub(LEAD_CHARS);
        while to < matches.len() && matches[to].0 < start + WINDOW_CHARS {
            let term = matches[to].1;
            distinct += usize::from(in_window[term] == 0);
            in_window[term] += 1;
            to += 1;
        }
        while matches[from].0 < start {
            let term = matches[from].1;
            in_window[term] -= 1;
            distinct -= usize::from(in_window[term] == 0);
            from += 1;
        }
        if best.is_none_or(|(count, _)| distinct > count) {
            best = Some((distinct, start));
        }
    }
    best.map_or(0, |b| b.1)
}

/// A term as the snippet looks for it: its units, and the tokens of its sequence in the
/// character field (see [`analysis::sequence`]) as (token index, offset from the first).
struct Pattern {
    units: Vec<Analyzed>,
    tokens: Vec<(usize, u32)>,
}

/// The terms a query's snippets mark, prepared once per query: the patterns and the distinct
/// tokens of their sequences.
pub struct Patterns {
    patterns: Vec<Pattern>,
    tokens: Vec<String>,
    /// Each pattern's first character and its index, sorted: where marking looks patterns up.
    leads: Vec<(char, usize)>,
}

impl Patterns {
    /// Each distinct term, at most [`MAX_TERMS`] of them, each cut to [`MAX_TERM_TOKENS`]
    /// character tokens.
    pub fn new(terms: &[String]) -> Patterns {
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut tokens: Vec<String> = Vec::new();
        for term in terms {
            let folded = fold::fold_for_search(term);
            let mut units = analysis::chars(&folded);
            let cut = units.get(MAX_TERM_TOKENS).map(|u| u.position);
            units.truncate(MAX_TERM_TOKENS);
            let kept: String = match cut {
                Some(cut) => folded.chars().take(cut).collect(),
                None => folded,
            };
            let sequence = analysis::sequence(&kept);
            let Some(first) = sequence.first().map(|t| t.position) else {
                continue;
            };
            let ids: Vec<(usize, u32)> = sequence
                .iter()
                .map(|t| {
                    let id = tokens
                        .iter()
                        .position(|known| *known == t.text)
                        .unwrap_or_else(|| {
                            tokens.push(t.text.clone());
                            tokens.len() - 1
                        });
                    (id, (t.position - first) as u32)
                })
                .collect();
            if !units.is_empty() && !patterns.iter().any(|p| p.tokens == ids) {
                patterns.push(Pattern { units, tokens: ids });
            }
            if patterns.len() == MAX_TERMS {
                break;
            }
        }
        let mut leads: Vec<(char, usize)> = patterns
            .iter()
            .enumerate()
            .filter_map(|(index, p)| Some((p.units[0].text.chars().next()?, index)))
            .collect();
        leads.sort_unstable();
        Patterns {
            patterns,
            tokens,
            leads,
        }
    }
}

/// Whether the token `token` (a Han character, or a Latin/digit run) stands at `folded[at..]`.
fn token_at(folded: &[char], at: usize, token: &str) -> bool {
    let len = token.chars().count();
    if at + len > folded.len() || !token.chars().eq(folded[at..at + len].iter().copied()) {
        return false;
    }
    // A Latin/digit run must be the whole run, not part of a longer one.
    let run = |c: &char| c.is_ascii_alphanumeric();
    !token.starts_with(|c: char| c.is_ascii_alphanumeric())
        || (at == 0 || !run(&folded[at - 1])) && folded.get(at + len).is_none_or(|c| !run(c))
}

/// Where `pattern` (non-empty) ends if it occurs at `folded[start..]` with its tokens' relative
/// positions.
fn occurs_at(folded: &[char], start: usize, pattern: &[Analyzed]) -> Option<usize> {
    let first = &pattern[0];
    let matched = pattern
        .iter()
        .all(|p| token_at(folded, start + (p.position - first.position), &p.text));
    let last = pattern.last()?;
    matched.then(|| start + (last.position - first.position) + last.text.chars().count())
}

/// Overlapping spans joined.
fn merge(spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for &(from, to) in spans {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

fn render(
    window: &str,
    cut_before: bool,
    cut_after: bool,
    marks: &[(usize, usize)],
    keep_breaks: bool,
) -> String {
    let mut out = String::with_capacity(window.len() + 16 * marks.len() + 8);
    if cut_before {
        out.push('…');
    }
    let mut at = 0;
    for &(from, to) in marks {
        escape_into(&mut out, &window[at..from], keep_breaks);
        out.push_str("<mark>");
        escape_into(&mut out, &window[from..to], keep_breaks);
        out.push_str("</mark>");
        at = to;
    }
    escape_into(&mut out, &window[at..], keep_breaks);
    if cut_after {
        out.push('…');
    }
    out
}

fn escape_into(out: &mut String, text: &str, keep_breaks: bool) {
    // Runs of ordinary characters are copied whole; only the few special ASCII bytes are
    // looked at one by one (a UTF-8 continuation byte is never ASCII).
    let mut from = 0;
    for (at, byte) in text.bytes().enumerate() {
        let replacement = match byte {
            b'\n' if keep_breaks => continue,
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            b'\n' | b'\r' | b'\t' => " ",
            _ => continue,
        };
        out.push_str(&text[from..at]);
        out.push_str(replacement);
        from = at + 1;
    }
    out.push_str(&text[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snip(text: &str, matches: &[(usize, usize)], patterns: &Patterns) -> String {
        snippet(text.as_bytes(), matches, patterns).expect("a UTF-8 window")
    }

    /// The character position of `needle` in `text`, as the index would record it.
    fn at(text: &str, needle: &str) -> usize {
        let folded = fold::fold_for_search(text);
        let byte = folded.find(needle).expect("in the text");
        folded[..byte].chars().count()
    }

    /// The window start by counting each candidate's window afresh.
    fn window_start_by_counting(matches: &[(usize, usize)]) -> usize {
        let mut best: Option<(usize, usize)> = None;
        for &(position, _) in matches {
            let start = position.saturating_sub(LEAD_CHARS);
            let mut terms: Vec<usize> = matches
                .iter()
                .filter(|(p, _)| (start..start + WINDOW_CHARS).contains(p))
                .map(|&(_, term)| term)
                .collect();
            terms.sort_unstable();
            terms.dedup();
            if best.is_none_or(|(count, _)| terms.len() > count) {
                best = Some((terms.len(), start));
            }
        }
        best.map_or(0, |b| b.1)
    }

    #[test]
    fn the_sliding_window_picks_what_counting_each_window_picks() {
        let mut state = 7u64;
        let mut next = |bound: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            ((state >> 33) % bound) as usize
        };
        for _ in 0..500 {
            let n = next(40);
            let mut matches: Vec<(usize, usize)> = (0..n)
                .map(|_| (next(600), next(MAX_TERMS as u64)))
                .collect();
            matches.sort_unstable();
            assert_eq!(
                window_start(&matches),
                window_start_by_counting(&matches),
                "{matches:?}"
            );
        }
    }

    #[test]
    fn traditional_text_is_marked_for_simplified_terms() {
        let text = "浦府辦〔2010〕98號\n關于做好擁軍優屬工作的通知";
        let terms = ["拥军优属".to_string(), "浦府办[2010]98号".to_string()];
        let matches = [(0, 1), (at(text, "拥军优属"), 0)];
        assert_eq!(
            snip(text, &matches, &Patterns::new(&terms)),
            "<mark>浦府辦〔2010〕98號</mark> 關于做好<mark>擁軍優屬</mark>工作的通知"
        );
    }

    #[test]
    fn the_rest_is_escaped_and_long_text_is_cut() {
        let text = format!("{}<b>通知</b>{}", "前".repeat(200), "后".repeat(200));
        let s = snip(
            &text,
            &[(at(&text, "通知"), 0)],
            &Patterns::new(&["通知".to_string()]),
        );
        assert!(s.starts_with('…') && s.ends_with('…'));
        assert!(s.contains("&lt;b&gt;<mark>通知</mark>&lt;/b&gt;"), "{s}");
        assert!(s.chars().count() < 200);
    }

    #[test]
    fn no_match_shows_the_beginning() {
        assert_eq!(
            snip("第一条 为了规范", &[], &Patterns::new(&[])),
            "第一条 为了规范"
        );
    }

    #[test]
    fn digit_runs_match_whole() {
        let text = "1989年和89年";
        let s = snip(
            text,
            &[(at(text, "和") + 1, 0)],
            &Patterns::new(&["89年".to_string()]),
        );
        assert_eq!(s, "1989年和<mark>89年</mark>");
    }

    #[test]
    fn repeated_and_excess_terms_are_one_pattern_each() {
        let text = "的".repeat(2_000);
        let mut terms = vec!["的".repeat(1_000)];
        terms.extend(std::iter::repeat_n("的".to_string(), 1_000));
        assert_eq!(Patterns::new(&terms).patterns.len(), 2);
        let many: Vec<String> = (0..100).map(|i| format!("词{i}")).collect();
        assert_eq!(Patterns::new(&many).patterns.len(), MAX_TERMS);
        let s = snip(&text, &[(0, 0)], &Patterns::new(&terms));
        assert!(s.starts_with("<mark>") && s.ends_with('…'), "{s}");
    }

    #[test]
    fn a_match_deep_in_a_long_text_is_shown_around_it() {
        let text = format!("{}关于通知{}", "前".repeat(500_000), "后".repeat(500));
        let s = snip(
            &text,
            &[(500_002, 0)],
            &Patterns::new(&["通知".to_string()]),
        );
        assert!(
            s.starts_with('…') && s.contains("关于<mark>通知</mark>"),
            "{s}"
        );
    }

    #[test]
    fn the_window_with_the_most_terms_wins() {
        let text = format!("甲{}乙丙", "前".repeat(300));
        let matches = [(0, 0), (301, 1), (302, 2)];
        let terms = ["甲".to_string(), "乙".to_string(), "丙".to_string()];
        let s = snip(&text, &matches, &Patterns::new(&terms));
        assert!(
            s.contains("<mark>乙</mark><mark>丙</mark>") || s.contains("<mark>乙丙</mark>"),
            "{s}"
        );
    }

    #[test]
    fn byte_offsets_of_characters_agree_with_char_indices() {
        let text = format!("{}a擁軍🀄b{}", "前".repeat(300), "x".repeat(700));
        let expected: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        for (n, &byte) in expected.iter().enumerate() {
            assert_eq!(byte_of_char(text.as_bytes(), n), byte, "character {n}");
        }
        assert_eq!(byte_of_char(text.as_bytes(), expected.len()), text.len());
        assert_eq!(
            byte_of_char(text.as_bytes(), expected.len() + 10),
            text.len()
        );
    }
}
