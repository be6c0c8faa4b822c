//! Two query shapes of gongwen's own, so that positions are read only where they decide
//! something.
//!
//! - [`Run`]: a run of characters in a character field. Its documents are those holding all of
//!   its character pairs (the gate: document ids only) where, for a word the segmenter knows,
//!   the word field holds the word (jieba cut it there, so its characters stand adjacent: no
//!   positions needed), or else where its characters stand at their relative positions (the
//!   phrase, whose positions are read only then). A word like `人民政府` stands in almost every
//!   document; its phrase is now checked only where the segmenter cut the text otherwise.
//! - [`Scored`]: the documents of a required query, scored as it scores them plus, for each
//!   optional query, that query's score where it matches too. An optional query is asked only
//!   about the documents the required one yields (`seek_danger`), never advanced over its own
//!   matches: tantivy's union of optional clauses advances each of them over every document
//!   of a 4,096-document window, so a phrase of common characters was checked in almost every
//!   document whatever the required words allowed.
//!
//! Both only ever move their inner scorers forward and never ask one about a document below
//! the bound it last answered (see [`super::exclusion`] for why that matters in tantivy 0.27).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use tantivy::fastfield::AliveBitSet;
use tantivy::query::{
    AllQuery, Bm25Weight, BooleanQuery, EmptyScorer, EnableScoring, Explanation, Occur,
    PhraseQuery, Query, Scorer, TermQuery, Weight,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, TERMINATED, Term};

type Q = Box<dyn Query>;

/// A scorer asked, in increasing order, whether documents match.
struct Checker {
    scorer: Box<dyn Scorer>,
    /// The document it last matched, or `TERMINATED`.
    found: DocId,
    /// No document below this one matches (of those not yet asked about).
    bound: DocId,
}

impl Checker {
    /// `scorer` as `Weight::scorer_danger` left it after asking about `target`.
    fn new(result: SeekDangerResult, scorer: Box<dyn Scorer>, target: DocId) -> Checker {
        match result {
            SeekDangerResult::Found => Checker {
                scorer,
                found: target,
                bound: target.saturating_add(1),
            },
            SeekDangerResult::SeekLowerBound(bound) => Checker {
                scorer,
                found: TERMINATED,
                bound,
            },
        }
    }

    /// A checker of `weight` in `reader`, starting at `target`.
    fn open(
        weight: &dyn Weight,
        reader: &SegmentReader,
        target: DocId,
        boost: Score,
    ) -> tantivy::Result<Checker> {
        let (result, scorer) = weight.scorer_danger(reader, target, boost)?;
        Ok(Checker::new(result, scorer, target))
    }

    /// Whether `doc` matches; `doc` never decreases between calls.
    fn holds(&mut self, doc: DocId) -> bool {
        if doc == self.found {
            return true;
        }
        if doc < self.bound {
            return false;
        }
        match self.scorer.seek_danger(doc) {
            SeekDangerResult::Found => {
                self.found = doc;
                self.bound = doc.saturating_add(1);
                true
            }
            SeekDangerResult::SeekLowerBound(bound) => {
                self.bound = bound;
                false
            }
        }
    }
}

fn does_not_match(doc: DocId) -> tantivy::TantivyError {
    tantivy::TantivyError::InvalidArgument(format!("document {doc} does not match"))
}

/// The explanation of a scorer's score for `doc`, or an error when it does not match.
fn explain_by_scoring(
    mut scorer: Box<dyn Scorer>,
    what: &'static str,
    doc: DocId,
) -> tantivy::Result<Explanation> {
    if scorer.doc() > doc || scorer.seek(doc) != doc {
        return Err(does_not_match(doc));
    }
    Ok(Explanation::new(what, scorer.score()))
}

/// A run of characters: see the module. Scores nothing unless built [`Run::scored`].
#[derive(Clone, Debug)]
pub struct Run {
    /// Its character pairs (none: every document is a candidate).
    gate: Vec<Term>,
    /// Its characters (and marks) at their relative positions.
    phrase: PhraseQuery,
    /// The run as one word of the word field, when it is one the segmenter may cut.
    word: Option<Term>,
    /// Scored as the phrase scores (BM25 over the run's occurrences); then every candidate's
    /// positions are read.
    scored: bool,
}

impl Run {
    /// A run matched only (score 0), through `word` where the word field holds it.
    pub fn filter(gate: Vec<Term>, phrase: PhraseQuery, word: Option<Term>) -> Run {
        Run {
            gate,
            phrase,
            word,
            scored: false,
        }
    }

    /// A run scored as a phrase.
    pub fn scored(gate: Vec<Term>, phrase: PhraseQuery) -> Run {
        Run {
            gate,
            phrase,
            word: None,
            scored: true,
        }
    }
}

/// Documents holding every one of `terms` (every document for none), read without
/// frequencies.
fn all_of(terms: &[Term]) -> Q {
    let term = |t: &Term| -> Q { Box::new(TermQuery::new(t.clone(), IndexRecordOption::Basic)) };
    match terms {
        [] => Box::new(AllQuery),
        [one] => term(one),
        _ => Box::new(BooleanQuery::new(
            terms.iter().map(|t| (Occur::Must, term(t))).collect(),
        )),
    }
}

impl Query for Run {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let unscored = EnableScoring::disabled_from_schema(enable_scoring.schema());
        let phrase_scoring = if self.scored {
            enable_scoring
        } else {
            unscored
        };
        Ok(Box::new(RunWeight {
            gate: all_of(&self.gate).weight(unscored)?,
            phrase: self.phrase.weight(phrase_scoring)?,
            word: match &self.word {
                Some(word) => {
                    Some(TermQuery::new(word.clone(), IndexRecordOption::Basic).weight(unscored)?)
                }
                None => None,
            },
            scored: self.scored,
        }))
    }
}

struct RunWeight {
    gate: Box<dyn Weight>,
    phrase: Box<dyn Weight>,
    word: Option<Box<dyn Weight>>,
    scored: bool,
}

impl RunWeight {
    /// The run's scorer with its gate as `gate` left it, its checkers opened at `at`.
    fn open(
        &self,
        reader: &SegmentReader,
        gate: Box<dyn Scorer>,
        at: DocId,
        boost: Score,
    ) -> tantivy::Result<RunScorer> {
        let word = match &self.word {
            Some(word) => Some(Checker::open(word.as_ref(), reader, at, 1.0)?),
            None => None,
        };
        Ok(RunScorer {
            gate,
            phrase: Checker::open(self.phrase.as_ref(), reader, at, boost)?,
            word,
            scored: self.scored,
        })
    }
}

impl Weight for RunWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let gate = self.gate.scorer(reader, 1.0)?;
        let first = gate.doc();
        if first == TERMINATED {
            return Ok(Box::new(EmptyScorer));
        }
        let mut run = self.open(reader, gate, first, boost)?;
        if !run.holds(first) {
            run.advance();
        }
        Ok(Box::new(run))
    }

    fn scorer_danger(
        &self,
        reader: &SegmentReader,
        target: DocId,
        boost: Score,
    ) -> tantivy::Result<(SeekDangerResult, Box<dyn Scorer>)> {
        let (result, gate) = self.gate.scorer_danger(reader, target, 1.0)?;
        let at = match result {
            SeekDangerResult::Found => target,
            SeekDangerResult::SeekLowerBound(TERMINATED) => {
                return Ok((
                    SeekDangerResult::SeekLowerBound(TERMINATED),
                    Box::new(EmptyScorer),
                ));
            }
            SeekDangerResult::SeekLowerBound(bound) => bound,
        };
        let mut run = self.open(reader, gate, at, boost)?;
        let result = match result {
            SeekDangerResult::Found if run.holds(target) => SeekDangerResult::Found,
            SeekDangerResult::Found => SeekDangerResult::SeekLowerBound(target + 1),
            bound => bound,
        };
        Ok((result, Box::new(run)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain_by_scoring(self.scorer(reader, 1.0)?, "run of characters", doc)
    }
}

struct RunScorer {
    gate: Box<dyn Scorer>,
    phrase: Checker,
    word: Option<Checker>,
    scored: bool,
}

impl RunScorer {
    /// Whether the run stands in `doc`, a document of the gate.
    fn holds(&mut self, doc: DocId) -> bool {
        self.word.as_mut().is_some_and(|word| word.holds(doc)) || self.phrase.holds(doc)
    }
}

impl DocSet for RunScorer {
    fn advance(&mut self) -> DocId {
        loop {
            let doc = self.gate.advance();
            if doc == TERMINATED || self.holds(doc) {
                return doc;
            }
        }
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let doc = self.gate.seek(target);
        if doc == TERMINATED || self.holds(doc) {
            return doc;
        }
        self.advance()
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        match self.gate.seek_danger(target) {
            SeekDangerResult::Found if self.holds(target) => SeekDangerResult::Found,
            SeekDangerResult::Found => SeekDangerResult::SeekLowerBound(target + 1),
            bound => bound,
        }
    }

    fn doc(&self) -> DocId {
        self.gate.doc()
    }

    fn size_hint(&self) -> u32 {
        self.gate.size_hint()
    }
}

impl Scorer for RunScorer {
    fn score(&mut self) -> Score {
        if self.scored {
            self.phrase.scorer.score()
        } else {
            0.0
        }
    }
}

/// The most an optional query adds to a document's score.
#[derive(Debug, Clone, Copy)]
pub enum MaxScore {
    /// A constant score.
    Constant(Score),
    /// BM25 over a term, or over a phrase of `terms` terms, times `boost`: at most, per term,
    /// the idf of a term held by one document times (k1 + 1).
    Bm25 { terms: usize, boost: Score },
}

/// The most BM25 gives one term in an index of `documents`: a term held by one document,
/// there as often as can be, whatever the document's length. (`Bm25Weight::max_score` is
/// the score of the longest document against the average length the weight was made with,
/// so it is no bound without the field's real average, and a little low even with it.)
fn bm25_bound(documents: u64) -> Score {
    Bm25Weight::for_one_term(1, documents.max(1), 1.0).score(0, u32::MAX)
}

impl MaxScore {
    fn at_most(self, per_term: Score) -> Score {
        match self {
            MaxScore::Constant(score) => score,
            MaxScore::Bm25 { terms, boost } => terms as Score * per_term * boost,
        }
    }
}

/// A required query with optional ones scored only where it matches: see the module.
#[derive(Debug)]
pub struct Scored {
    required: Q,
    /// Checked in this order: the costliest to check best come last, where a document may
    /// no longer need them (see [`Scored::ranking_first`]).
    optional: Vec<(Q, MaxScore)>,
    /// The number of best documents asked for, when the score is the whole ranking.
    top: Option<usize>,
}

impl Scored {
    pub fn new(required: Q, optional: Vec<(Q, MaxScore)>) -> Scored {
        Scored {
            required,
            optional,
            top: None,
        }
    }

    /// The score is the whole ranking of the search, which keeps its first `top` documents.
    /// A document is then asked about its next optional query only while its score so far
    /// plus the bounds of the queries left could still reach the `top`-th best score seen
    /// so far in this search: otherwise it cannot be among the first `top`, however the rest
    /// came out (the score it gets is the part computed, below every one of those).
    pub fn ranking_first(mut self, top: usize) -> Scored {
        self.top = Some(top);
        self
    }
}

impl Clone for Scored {
    fn clone(&self) -> Self {
        Scored {
            required: self.required.box_clone(),
            optional: self
                .optional
                .iter()
                .map(|(q, bound)| (q.box_clone(), *bound))
                .collect(),
            top: self.top,
        }
    }
}

impl Query for Scored {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let required = self.required.weight(enable_scoring)?;
        // Without scores the optional queries change nothing.
        let EnableScoring::Enabled {
            statistics_provider,
            ..
        } = enable_scoring
        else {
            return Ok(required);
        };
        let per_term = bm25_bound(statistics_provider.total_num_docs()?);
        let mut optional = Vec::with_capacity(self.optional.len());
        let mut bounds = Vec::with_capacity(self.optional.len());
        for (q, bound) in &self.optional {
            optional.push(q.weight(enable_scoring)?);
            bounds.push(bound.at_most(per_term));
        }
        // What the queries from each one on can add at most (a little over, against the
        // rounding of sums), and nothing after the last.
        let mut left: Vec<Score> = bounds
            .iter()
            .rev()
            .scan(0.0, |sum, bound| {
                *sum += bound;
                Some(*sum * 1.001)
            })
            .collect();
        left.reverse();
        left.push(0.0);
        Ok(Box::new(ScoredWeight {
            required,
            optional,
            left,
            best: self.top.map(|top| Arc::new(Mutex::new(Best::new(top)))),
        }))
    }
}

struct ScoredWeight {
    required: Box<dyn Weight>,
    optional: Vec<Box<dyn Weight>>,
    /// Per optional query, the most it and those after it can add.
    left: Vec<Score>,
    /// With the first documents asked for: the best scores of the segments scored so far,
    /// which each segment's scorer carries on from (its documents must beat them too).
    best: Option<Arc<Mutex<Best>>>,
}

impl ScoredWeight {
    fn open(
        &self,
        reader: &SegmentReader,
        required: Box<dyn Scorer>,
        at: DocId,
        boost: Score,
    ) -> tantivy::Result<Box<dyn Scorer>> {
        if at == TERMINATED {
            return Ok(required);
        }
        let checkers = self
            .optional
            .iter()
            .map(|weight| Checker::open(weight.as_ref(), reader, at, boost))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Box::new(ScoredScorer {
            required,
            alive: reader.alive_bitset().cloned(),
            checkers,
            left: self.left.iter().map(|bound| bound * boost).collect(),
            best: self.best.clone(),
            cached: None,
        }))
    }
}

impl Weight for ScoredWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let required = self.required.scorer(reader, boost)?;
        let at = required.doc();
        self.open(reader, required, at, boost)
    }

    fn scorer_danger(
        &self,
        reader: &SegmentReader,
        target: DocId,
        boost: Score,
    ) -> tantivy::Result<(SeekDangerResult, Box<dyn Scorer>)> {
        let (result, required) = self.required.scorer_danger(reader, target, boost)?;
        let at = match result {
            SeekDangerResult::Found => target,
            SeekDangerResult::SeekLowerBound(bound) => bound,
        };
        Ok((result, self.open(reader, required, at, boost)?))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain_by_scoring(
            self.scorer(reader, 1.0)?,
            "required and optional clauses",
            doc,
        )
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.required.count(reader)
    }
}

/// The best `top` scores seen so far, the lowest first out.
struct Best {
    top: usize,
    /// Scores (never negative) by their bits, which order as the scores do.
    scores: BinaryHeap<Reverse<u32>>,
}

impl Best {
    fn new(top: usize) -> Best {
        Best {
            top,
            scores: BinaryHeap::with_capacity(top.min(1024) + 1),
        }
    }

    fn lock(best: &Mutex<Best>) -> std::sync::MutexGuard<'_, Best> {
        best.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a document scoring up to `score` could be among the best `top`.
    fn could_hold(&self, score: Score) -> bool {
        self.scores.len() < self.top
            || self
                .scores
                .peek()
                .is_none_or(|Reverse(lowest)| score >= Score::from_bits(*lowest))
    }

    fn add(&mut self, score: Score) {
        self.scores.push(Reverse(score.max(0.0).to_bits()));
        if self.scores.len() > self.top {
            self.scores.pop();
        }
    }
}

struct ScoredScorer {
    required: Box<dyn Scorer>,
    /// The segment's documents not deleted: tantivy scores a document before it looks
    /// whether it was deleted, and a deleted one's score must not raise the bar.
    alive: Option<AliveBitSet>,
    /// The optional queries, in their order.
    checkers: Vec<Checker>,
    /// Per checker, the most it and those after it can add.
    left: Vec<Score>,
    /// With the first documents asked for: the best scores so far, of this search (segments
    /// are scored one after another; the lock is not contended).
    best: Option<Arc<Mutex<Best>>>,
    /// The score of the document last scored.
    cached: Option<(DocId, Score)>,
}

impl DocSet for ScoredScorer {
    fn advance(&mut self) -> DocId {
        self.required.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.required.seek(target)
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        self.required.seek_danger(target)
    }

    fn doc(&self) -> DocId {
        self.required.doc()
    }

    fn size_hint(&self) -> u32 {
        self.required.size_hint()
    }

    fn cost(&self) -> u64 {
        self.required.cost()
    }
}

impl Scorer for ScoredScorer {
    fn score(&mut self) -> Score {
        let doc = self.required.doc();
        if let Some((cached, score)) = self.cached
            && cached == doc
        {
            return score;
        }
        let mut score = self.required.score();
        let mut best = self.best.as_deref().map(Best::lock);
        let mut whole = true;
        for (checker, left) in self.checkers.iter_mut().zip(&self.left) {
            if best
                .as_ref()
                .is_some_and(|best| !best.could_hold(score + left))
            {
                whole = false;
                break;
            }
            if checker.holds(doc) {
                score += checker.scorer.score();
            }
        }
        let alive = self.alive.as_ref().is_none_or(|alive| alive.is_alive(doc));
        if whole
            && alive
            && let Some(best) = &mut best
        {
            best.add(score);
        }
        self.cached = Some((doc, score));
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::{DocSetCollector, TopDocs};
    use tantivy::query::{Bm25StatisticsProvider, BoostQuery, ConstScoreQuery};
    use tantivy::schema::{Field, STRING, Schema, TEXT};
    use tantivy::{DocAddress, Index, IndexWriter, Searcher, TantivyDocument};

    const UNITS: &[&str] = &["a", "b", "c", "d", "e"];
    /// Units a few documents hold many times: their BM25 comes near its bound.
    const RARE: &[&str] = &["y", "z"];

    /// Test fields: `units` (tokens with positions), `pairs` (each two adjacent units) and
    /// `words` (some of the runs of three units the text holds, as a segmenter might cut).
    struct Fixture {
        searcher: Searcher,
        units: Field,
        pairs: Field,
        words: Field,
    }

    /// Random texts over a few units, in several segments; with `deleted`, the documents
    /// holding that unit deleted after.
    fn fixture(seed: u64, deleted: Option<&str>) -> Fixture {
        let mut builder = Schema::builder();
        let units = builder.add_text_field("units", TEXT);
        let pairs = builder.add_text_field("pairs", TEXT);
        let words = builder.add_text_field("words", STRING);
        let index = Index::create_in_ram(builder.build());
        let mut writer: IndexWriter = index.writer(15_000_000).expect("writer");
        let mut state = seed;
        let mut next = |bound: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % bound
        };
        for segment in 0..3 {
            for _ in 0..(60 + 20 * segment) {
                let len = 3 + next(25) as usize;
                let mut text: Vec<&str> = (0..len)
                    .map(|_| UNITS[next(UNITS.len() as u64) as usize])
                    .collect();
                if next(40) == 0 {
                    let rare = RARE[next(RARE.len() as u64) as usize];
                    text.extend(std::iter::repeat_n(rare, 20 + next(20) as usize));
                }
                let mut doc = TantivyDocument::default();
                doc.add_text(units, text.join(" "));
                doc.add_text(
                    pairs,
                    text.windows(2)
                        .map(|p| p.concat())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                for run in text.windows(3) {
                    if next(2) == 0 {
                        doc.add_text(words, run.concat());
                    }
                }
                writer.add_document(doc).expect("add");
            }
            writer.commit().expect("commit");
        }
        if let Some(unit) = deleted {
            writer.delete_term(Term::from_field_text(units, unit));
            writer.commit().expect("commit");
        }
        let searcher = index.reader().expect("reader").searcher();
        assert!(searcher.segment_readers().len() > 1);
        Fixture {
            searcher,
            units,
            pairs,
            words,
        }
    }

    fn phrase(field: Field, run: &[&str]) -> PhraseQuery {
        PhraseQuery::new(
            run.iter()
                .map(|u| Term::from_field_text(field, u))
                .collect(),
        )
    }

    fn docs(searcher: &Searcher, query: &dyn Query) -> Vec<DocAddress> {
        let mut found: Vec<DocAddress> = searcher
            .search(query, &DocSetCollector)
            .expect("search")
            .into_iter()
            .collect();
        found.sort();
        found
    }

    fn top(searcher: &Searcher, query: &dyn Query, k: usize) -> Vec<(Score, DocAddress)> {
        searcher
            .search(query, &TopDocs::with_limit(k).order_by_score())
            .expect("search")
    }

    /// Every run of three units.
    fn runs() -> Vec<[&'static str; 3]> {
        let mut out = Vec::new();
        for a in UNITS {
            for b in UNITS {
                for c in UNITS {
                    out.push([*a, *b, *c]);
                }
            }
        }
        out
    }

    #[test]
    fn a_run_matches_what_its_phrase_matches_required_or_optional() {
        let f = fixture(3, None);
        for run in runs() {
            let gate = |f: &Fixture| -> Vec<Term> {
                run.windows(2)
                    .map(|p| Term::from_field_text(f.pairs, &p.concat()))
                    .collect()
            };
            let word = Term::from_field_text(f.words, &run.concat());
            let plain = phrase(f.units, &run);
            let expected = docs(&f.searcher, &plain);
            for candidate in [
                Run::filter(gate(&f), phrase(f.units, &run), Some(word.clone())),
                Run::filter(gate(&f), phrase(f.units, &run), None),
                Run::filter(Vec::new(), phrase(f.units, &run), Some(word.clone())),
                Run::scored(gate(&f), phrase(f.units, &run)),
            ] {
                assert_eq!(
                    docs(&f.searcher, &candidate),
                    expected,
                    "{run:?} {candidate:?}"
                );
                // As an optional query, asked about every document in turn.
                let all = |optional: Q| {
                    let q = Scored::new(
                        Box::new(AllQuery),
                        vec![(optional, MaxScore::Constant(1.0))],
                    );
                    let mut scored = top(&f.searcher, &q, 1_000);
                    scored.sort_by_key(|(_, address)| *address);
                    scored
                };
                let one = |q: Q| -> Q { Box::new(ConstScoreQuery::new(q, 1.0)) };
                assert_eq!(
                    all(one(Box::new(candidate.clone()))),
                    all(one(Box::new(plain.clone()))),
                    "{run:?} optional"
                );
            }
        }
    }

    #[test]
    fn no_term_or_phrase_scores_above_its_bound() {
        for seed in 1..6 {
            let f = fixture(seed, None);
            let per_term = bm25_bound(f.searcher.total_num_docs().expect("documents"));
            let highest = |q: &dyn Query| top(&f.searcher, q, 1).first().map_or(0.0, |(s, _)| *s);
            for unit in UNITS.iter().chain(RARE) {
                let q = TermQuery::new(
                    Term::from_field_text(f.units, unit),
                    IndexRecordOption::WithFreqs,
                );
                let bound = MaxScore::Bm25 {
                    terms: 1,
                    boost: 1.0,
                }
                .at_most(per_term);
                assert!(highest(&q) <= bound, "seed {seed}, {unit}");
            }
            for run in runs() {
                let q = phrase(f.units, &run);
                let bound = MaxScore::Bm25 {
                    terms: 3,
                    boost: 1.0,
                }
                .at_most(per_term);
                assert!(highest(&q) <= bound, "seed {seed}, {run:?}");
            }
            let runs_of_rare = RARE.iter().map(|r| phrase(f.units, &[r, r, r]));
            for q in runs_of_rare {
                let bound = MaxScore::Bm25 {
                    terms: 3,
                    boost: 1.0,
                }
                .at_most(per_term);
                assert!(highest(&q) <= bound, "seed {seed}, {q:?}");
            }
        }
    }

    #[test]
    fn skipping_checks_never_changes_the_first_documents() {
        // Deleted documents are scored too (tantivy looks at deletions after): those holding
        // `y` would score above every other.
        for (seed, deleted) in (1..6).flat_map(|seed| [(seed, None), (seed, Some("y"))]) {
            let f = fixture(seed, deleted);
            let term = |unit: &str| -> Q {
                Box::new(TermQuery::new(
                    Term::from_field_text(f.units, unit),
                    IndexRecordOption::WithFreqs,
                ))
            };
            let bm25 = |boost| MaxScore::Bm25 { terms: 1, boost };
            let scored = || {
                Scored::new(
                    term("a"),
                    vec![
                        (
                            Box::new(ConstScoreQuery::new(
                                Box::new(phrase(f.units, &["b", "c"])),
                                20.0,
                            )),
                            MaxScore::Constant(20.0),
                        ),
                        (term("b"), bm25(1.0)),
                        (Box::new(BoostQuery::new(term("y"), 10.0)), bm25(10.0)),
                        (Box::new(BoostQuery::new(term("c"), 3.0)), bm25(3.0)),
                        (Box::new(BoostQuery::new(term("z"), 3.0)), bm25(3.0)),
                        (
                            Box::new(BoostQuery::new(
                                Box::new(phrase(f.units, &["c", "a", "e"])),
                                2.0,
                            )),
                            MaxScore::Bm25 {
                                terms: 3,
                                boost: 2.0,
                            },
                        ),
                        (
                            Box::new(ConstScoreQuery::new(
                                Box::new(phrase(f.units, &["d", "e"])),
                                2.0,
                            )),
                            MaxScore::Constant(2.0),
                        ),
                    ],
                )
            };
            let mut pruned_some = false;
            for k in [1, 2, 3, 5, 10, 20] {
                let whole = top(&f.searcher, &scored(), k);
                let pruned = top(&f.searcher, &scored().ranking_first(k), k);
                assert_eq!(pruned, whole, "seed {seed}, {deleted:?} deleted, first {k}");
                let every = top(&f.searcher, &scored().ranking_first(k), 1_000);
                pruned_some |= every != top(&f.searcher, &scored(), 1_000);
            }
            assert!(
                pruned_some,
                "seed {seed}, {deleted:?} deleted: no check was ever skipped"
            );
        }
    }
}
