//! Parsed query + filters → a tantivy query (see the module above for the rules).

use std::ops::Bound;
use std::sync::Arc;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use super::exclusion::Excluded;
use super::lazy::{MaxScore, Run, Scored};
use super::query::{MAX_WORDS, Node};
use super::status::StatusQuery;
use super::{BuiltQuery, Filters};
use crate::analysis;
use crate::index::date_time;
use crate::index::relations::Relations;
use crate::index::schema::Fields;
use crate::lang::fold;
use crate::lang::issuers::Entities;
use crate::model::{DocNumber, IsoDate};

/// How much a match in the title counts against one in the body.
const TITLE_BOOST: f32 = 3.0;
/// How much the whole title matching a term, as typed, adds.
const TITLE_PHRASE_BOOST: f32 = 5.0;
/// What a multi-word term occurring exactly as typed (contiguously, after folding) adds: more
/// than any sum of word scores, so such a document ranks above every one where the words
/// only occur apart, whatever their titles. A constant: a run of everyday characters is rare
/// as a run even when each of them is common, which BM25 over its parts would understate.
const EXACT_SCORE: f32 = 10_000.0;
/// What a multi-word term whose words all occur near each other, in order, adds: the tier
/// between the exact documents and the rest.
const PROXIMITY_SCORE: f32 = 1_000.0;
/// How far apart, in characters in all, the words of a term may stand to count as near.
const PROXIMITY_SLOP: u32 = 30;
/// Words of a term whose nearness is checked, at most: the first ones of two or more
/// characters (a single character is too common to place a word, and each word checked reads
/// its positions in every candidate document).
const PROXIMITY_WORDS: usize = 3;
/// What bearing the document number typed adds: enough to rank it above any text match.
const OWN_NUMBER_SCORE: f32 = 100_000.0;
/// Pairs a run of characters is filtered by, at most (a pasted paragraph needs no more to be
/// found in few documents).
const MAX_GRAMS: usize = 16;

type Q = Box<dyn Query>;

/// The query of `node` and `filters`. `ranking_top`: the search ranks by this query's score
/// alone and keeps its first `ranking_top` documents (a free-text query may then skip its
/// costliest check where it cannot change them).
pub fn build(
    fields: &Fields,
    node: Option<&Node>,
    filters: &Filters,
    relations: &Arc<Relations>,
    ranking_top: Option<usize>,
) -> BuiltQuery {
    let mut builder = Builder {
        fields,
        relations,
        include_predecessors: filters.include_predecessors,
        highlights: Vec::new(),
        ranking_top: match node {
            // Filters score nothing, so a text alone is the whole score.
            Some(Node::Text { .. }) => ranking_top,
            _ => None,
        },
    };
    let mut clauses: Vec<(Occur, Q)> = Vec::new();
    if let Some(node) = node {
        match node {
            Node::Not(inner) => {
                clauses.push((Occur::Must, Box::new(AllQuery)));
                if let Some(q) = builder.node(inner, true) {
                    clauses.push((Occur::MustNot, excluded(q)));
                }
            }
            node => {
                if let Some(q) = builder.node(node, false) {
                    clauses.push((Occur::Must, q));
                }
            }
        }
    }
    for filter in builder.filters(filters) {
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))));
    }
    let query: Q = if clauses.is_empty() {
        Box::new(AllQuery)
    } else if clauses.iter().all(|(occur, _)| *occur == Occur::Must) && clauses.len() == 1 {
        clauses.remove(0).1
    } else {
        Box::new(BooleanQuery::new(clauses))
    };
    BuiltQuery {
        query,
        highlights: builder.highlights,
    }
}

struct Builder<'a> {
    fields: &'a Fields,
    relations: &'a Arc<Relations>,
    /// `issuer:` also matches the entities the issuer succeeded.
    include_predecessors: bool,
    highlights: Vec<String>,
    /// The first documents the ranking keeps, when the query is one free text.
    ranking_top: Option<usize>,
}

fn term(field: Field, text: &str) -> Q {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

/// `query` on the excluding side of a boolean query (see [`Excluded`]).
fn excluded(query: Q) -> Q {
    Box::new(Excluded::new(query))
}

fn boosted(query: Q, boost: f32) -> Q {
    Box::new(BoostQuery::new(query, boost))
}

/// A text's character field and its pair field.
#[derive(Clone, Copy)]
struct Chars {
    chars: Field,
    grams: Field,
}

/// How a run of characters is asked for.
#[derive(Clone, Copy)]
enum Ask {
    /// As a condition only (it scores nothing); a single word is looked up in `words` (the
    /// word field of the same text) before any positions are read.
    Filter { words: Option<Field> },
    /// Scored as a phrase (BM25 over the run's occurrences).
    Scored,
}

/// `text` as a run of tokens in a character field (see [`analysis::sequence`]): a term for
/// one token, the pair term for two adjacent ones, and for more a [`Run`]: a phrase looked
/// for only in the documents holding all its pairs (so the positions of common characters
/// are read in few documents), but for the pairs `implied` (those the documents asked about
/// are known to hold); `None` when nothing in it is searchable.
fn sequence(field: Chars, text: &str, ask: Ask, implied: &[String]) -> Option<Q> {
    let tokens = analysis::sequence(text);
    let first = tokens.first()?.position;
    let single = |field: Field, token: &str| -> Q {
        match ask {
            Ask::Scored => term(field, token),
            Ask::Filter { .. } => unscored(Box::new(TermQuery::new(
                Term::from_field_text(field, token),
                IndexRecordOption::Basic,
            ))),
        }
    };
    if let [one] = tokens.as_slice() {
        return Some(single(field.chars, &one.text));
    }
    let grams = analysis::grams(&tokens);
    if let ([gram], 2) = (grams.as_slice(), tokens.len()) {
        return Some(single(field.grams, gram));
    }
    let terms = tokens
        .iter()
        .map(|t| {
            (
                t.position - first,
                Term::from_field_text(field.chars, &t.text),
            )
        })
        .collect();
    let phrase = PhraseQuery::new_with_offset(terms);
    let gate = pair_terms(field.grams, &grams, implied);
    Some(match ask {
        Ask::Scored => Box::new(Run::scored(gate, phrase)),
        Ask::Filter { words } => {
            let folded = fold::fold_for_search(text);
            // A word of Han characters held by the word field stands there as typed.
            let word = words
                .filter(|_| folded.chars().all(fold::is_han))
                .map(|words| Term::from_field_text(words, &folded));
            Box::new(Run::filter(gate, phrase, word))
        }
    })
}

/// The pair terms of `grams` but those `implied`, at most [`MAX_GRAMS`] of them.
fn pair_terms(field: Field, grams: &[String], implied: &[String]) -> Vec<Term> {
    grams
        .iter()
        .filter(|gram| !implied.contains(gram))
        .take(MAX_GRAMS)
        .map(|gram| Term::from_field_text(field, gram))
        .collect()
}

/// `query` matching as it does, scoring nothing.
fn unscored(query: Q) -> Q {
    Box::new(ConstScoreQuery::new(query, 0.0))
}

/// The words of `text` near each other: the first character of each of the first
/// [`PROXIMITY_WORDS`] words of two or more characters, at its place in the text, as a phrase
/// with [`PROXIMITY_SLOP`]; `None` for fewer than two such words. It is asked only about
/// documents holding every word, so no pairs gate it.
fn proximity(field: Chars, text: &str, words: &[String]) -> Option<Q> {
    let folded = fold::fold_for_search(text);
    let mut terms: Vec<(usize, Term)> = Vec::new();
    let mut from = 0;
    for word in words {
        if terms.len() == PROXIMITY_WORDS {
            break;
        }
        let Some(at) = folded[from..].find(word.as_str()).map(|i| i + from) else {
            continue;
        };
        from = at + word.len();
        if let [first, _, ..] = analysis::chars(word).as_slice() {
            let term = Term::from_field_text(field.chars, &first.text);
            // tantivy's slop does not keep order: one occurrence would stand for both.
            if terms.iter().any(|(_, t)| *t == term) {
                continue;
            }
            let position = folded[..at].chars().count() + first.position;
            terms.push((position, term));
        }
    }
    let start = terms.first()?.0;
    if terms.len() < 2 {
        return None;
    }
    let terms = terms.into_iter().map(|(p, t)| (p - start, t)).collect();
    let phrase = PhraseQuery::new_with_offset_and_slop(terms, PROXIMITY_SLOP);
    Some(Box::new(Run::filter(Vec::new(), phrase, None)))
}

impl Builder<'_> {
    fn body_chars(&self) -> Chars {
        Chars {
            chars: self.fields.body_chars,
            grams: self.fields.body_grams,
        }
    }

    fn title_chars(&self) -> Chars {
        Chars {
            chars: self.fields.title_chars,
            grams: self.fields.title_grams,
        }
    }

    fn node(&mut self, node: &Node, negated: bool) -> Option<Q> {
        match node {
            Node::Text { text, title_only } => self.text(text, *title_only, negated),
            Node::Phrase { text, title_only } => self.phrase(text, *title_only, negated),
            Node::Number(number) => Some(self.number(number, negated)),
            Node::Issuer(value) => Some(self.issuer(value)),
            Node::OwnNumber(number) => Some(term(self.fields.doc_number, &number.to_string())),
            Node::DocType(value) => Some(term(self.fields.doc_type, &fold::to_simplified(value))),
            Node::Subject(value) => Some(term(self.fields.subject, &fold::to_simplified(value))),
            Node::Year(range) => Some(Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_i64(
                    self.fields.year,
                    i64::from(*range.start()),
                )),
                Bound::Included(Term::from_field_i64(
                    self.fields.year,
                    i64::from(*range.end()),
                )),
            ))),
            Node::Date(from, to) => Some(self.date_range(*from, *to)),
            Node::CitesNumber(number) => {
                Some(term(self.fields.cited_doc_numbers, &number.to_string()))
            }
            Node::CitesTitle(key) => Some(term(self.fields.cited_titles, key)),
            Node::Status(status) => {
                Some(Box::new(StatusQuery::new(self.relations.clone(), *status)))
            }
            Node::And(children) => {
                let mut clauses: Vec<(Occur, Q)> = Vec::new();
                for child in children {
                    match child {
                        Node::Not(inner) => {
                            if let Some(q) = self.node(inner, !negated) {
                                clauses.push((Occur::MustNot, excluded(q)));
                            }
                        }
                        child => {
                            if let Some(q) = self.node(child, negated) {
                                clauses.push((Occur::Must, q));
                            }
                        }
                    }
                }
                if clauses.is_empty() {
                    return None;
                }
                if clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Some(Box::new(BooleanQuery::new(clauses)))
            }
            Node::Or(children) => {
                let clauses: Vec<(Occur, Q)> = children
                    .iter()
                    .filter_map(|child| self.node(child, negated))
                    .map(|q| (Occur::Should, q))
                    .collect();
                (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Q)
            }
            Node::Not(inner) => {
                let q = self.node(inner, !negated)?;
                Some(Box::new(BooleanQuery::new(vec![
                    (Occur::Must, Box::new(AllQuery)),
                    (Occur::MustNot, excluded(q)),
                ])))
            }
        }
    }

    fn text(&mut self, text: &str, title_only: bool, negated: bool) -> Option<Q> {
        let words = analysis::query_words(text);
        if words.is_empty() {
            return None;
        }
        let f = self.fields;
        let (chars_field, words_field) = if title_only {
            (self.title_chars(), f.title)
        } else {
            (self.body_chars(), f.body)
        };
        let mut required: Vec<Q> = Vec::new();
        // The exact tier first: a document that cannot beat the first ones held exactly
        // skips the rest (see `Scored::ranking_first`).
        let mut optional: Vec<(Q, MaxScore)> = Vec::new();
        let mut near = None;
        if words.len() > 1 {
            // The pairs inside each word are held by every document asked (it holds the words).
            let inside: Vec<String> = words
                .iter()
                .flat_map(|w| analysis::grams(&analysis::sequence(w)))
                .collect();
            if let Some(q) = sequence(chars_field, text, Ask::Filter { words: None }, &inside) {
                optional.push((
                    Box::new(ConstScoreQuery::new(q, EXACT_SCORE)),
                    MaxScore::Constant(EXACT_SCORE),
                ));
            }
            near = proximity(chars_field, text, &words);
        }
        let each_word = Ask::Filter {
            words: Some(words_field),
        };
        let word_bound = |boost| MaxScore::Bm25 { terms: 1, boost };
        for word in &words {
            required.push(sequence(chars_field, word, each_word, &[])?);
            optional.push((term(words_field, word), word_bound(1.0)));
            if !title_only {
                optional.push((
                    boosted(term(f.title, word), TITLE_BOOST),
                    word_bound(TITLE_BOOST),
                ));
            }
        }
        if !title_only && let Some(q) = sequence(self.title_chars(), text, Ask::Scored, &[]) {
            optional.push((boosted(q, TITLE_PHRASE_BOOST), title_phrase_bound(text)));
        }
        if !negated {
            if words.len() > 1 {
                self.highlights.push(text.to_string());
            }
            self.highlights.extend(words);
        }
        let required = all(required);
        if negated {
            return Some(required);
        }
        if let Some(near) = near {
            // Sloppy positions of common characters in every candidate: checked last.
            optional.push((
                Box::new(ConstScoreQuery::new(near, PROXIMITY_SCORE)),
                MaxScore::Constant(PROXIMITY_SCORE),
            ));
        }
        let mut scored = Scored::new(required, optional);
        if let Some(top) = self.ranking_top.take() {
            scored = scored.ranking_first(top);
        }
        Some(Box::new(scored))
    }

    fn phrase(&mut self, text: &str, title_only: bool, negated: bool) -> Option<Q> {
        let f = self.fields;
        let chars_field = if title_only {
            self.title_chars()
        } else {
            self.body_chars()
        };
        let required = sequence(chars_field, text, Ask::Scored, &[])?;
        let mut optional: Vec<(Q, MaxScore)> = Vec::new();
        if !title_only && let Some(q) = sequence(self.title_chars(), text, Ask::Scored, &[]) {
            optional.push((boosted(q, TITLE_PHRASE_BOOST), title_phrase_bound(text)));
        }
        let words_field = if title_only { f.title } else { f.body };
        for word in analysis::query_words(text).iter().take(MAX_WORDS) {
            optional.push((
                term(words_field, word),
                MaxScore::Bm25 {
                    terms: 1,
                    boost: 1.0,
                },
            ));
        }
        if !negated {
            self.highlights.push(text.to_string());
        }
        Some(scored(required, optional, negated))
    }

    fn number(&mut self, number: &DocNumber, negated: bool) -> Q {
        let normalised = number.to_string();
        let own = term(self.fields.doc_number, &normalised);
        let mut clauses: Vec<(Occur, Q)> = vec![(
            Occur::Should,
            Box::new(ConstScoreQuery::new(own, OWN_NUMBER_SCORE)),
        )];
        if let Some(q) = sequence(self.body_chars(), &normalised, Ask::Scored, &[]) {
            clauses.push((Occur::Should, q));
        }
        if !negated {
            self.highlights.push(normalised);
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// Any printed form of the issuer's entity (and, asked to, of its predecessors').
    fn issuer(&self, value: &str) -> Q {
        let entities = Entities::bundled();
        let names = if self.include_predecessors {
            entities.with_predecessors(value)
        } else {
            vec![entities.canonical(value)]
        };
        let mut forms: Vec<String> = names.iter().flat_map(|n| entities.forms(n)).collect();
        let typed = fold::to_simplified(value.trim());
        if !forms.contains(&typed) {
            forms.push(typed);
        }
        let clauses: Vec<(Occur, Q)> = forms
            .iter()
            .map(|form| (Occur::Should, term(self.fields.issuer, form)))
            .collect();
        Box::new(BooleanQuery::new(clauses))
    }

    fn date_range(&self, from: Option<IsoDate>, to: Option<IsoDate>) -> Q {
        let at = |d: IsoDate| Term::from_field_date(self.fields.date, date_time(d));
        Box::new(RangeQuery::new(
            from.map_or(Bound::Unbounded, |d| Bound::Included(at(d))),
            to.map_or(Bound::Unbounded, |d| Bound::Included(at(d))),
        ))
    }

    fn filters(&self, filters: &Filters) -> Vec<Q> {
        let f = self.fields;
        let folded = |field: Field, values: &[String]| -> Vec<Q> {
            values
                .iter()
                .map(|v| term(field, fold::to_simplified(v.trim()).as_str()))
                .collect()
        };
        let mut out: Vec<Q> = [
            filters.issuer.iter().map(|i| self.issuer(i)).collect(),
            filters
                .status
                .iter()
                .map(|&status| -> Q { Box::new(StatusQuery::new(self.relations.clone(), status)) })
                .collect(),
            folded(f.doc_type, &filters.doc_type),
            folded(f.subject, &filters.subject),
            filters
                .year
                .iter()
                .map(|&year| -> Q {
                    Box::new(TermQuery::new(
                        Term::from_field_i64(f.year, i64::from(year)),
                        IndexRecordOption::Basic,
                    ))
                })
                .collect(),
        ]
        .into_iter()
        .filter_map(any_of)
        .collect();
        if filters.date_from.is_some() || filters.date_to.is_some() {
            out.push(self.date_range(filters.date_from, filters.date_to));
        }
        if let Some(number) = &filters.doc_number {
            out.push(term(f.doc_number, &number.to_string()));
        }
        out
    }
}

/// The most the title phrase of `text` adds: BM25 over its tokens, boosted.
fn title_phrase_bound(text: &str) -> MaxScore {
    MaxScore::Bm25 {
        terms: analysis::sequence(text).len(),
        boost: TITLE_PHRASE_BOOST,
    }
}

/// `required`, scored with `optional` where it matches (negated: matched only, the score
/// of an excluded document is never read).
fn scored(required: Q, optional: Vec<(Q, MaxScore)>, negated: bool) -> Q {
    if negated || optional.is_empty() {
        return required;
    }
    Box::new(Scored::new(required, optional))
}

/// A query matching where all of `queries` (at least one) do.
fn all(mut queries: Vec<Q>) -> Q {
    if queries.len() == 1 {
        return queries.remove(0);
    }
    Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Must, q)).collect(),
    ))
}

/// A query matching where any of `queries` does; `None` for none.
fn any_of(mut queries: Vec<Q>) -> Option<Q> {
    match queries.len() {
        0 | 1 => queries.pop(),
        _ => Some(Box::new(BooleanQuery::union(queries))),
    }
}
