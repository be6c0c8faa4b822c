//! Search: a query string and filters → ranked hits with snippets, an exact total, and facet
//! counts over the filtered result set.
//!
//! How a query becomes a tantivy query ([`build`]):
//! - free text must occur: every word the segmenter finds in it must occur as a run of
//!   characters (in the character field, so a word inside a longer word, or one split
//!   differently in the document, still counts). A term of several words ranks in tiers: the
//!   documents holding it exactly as typed (its characters and punctuation adjacent) above
//!   all others, then those with its words near each other in order, then the rest; within a
//!   tier its words score by BM25 in the word fields, a match in the title three times;
//! - a quoted phrase must occur exactly, its characters adjacent;
//! - a document number in any bracket form matches the document that bears it (ranked far
//!   above the rest) and, as text, the documents that cite it;
//! - filters narrow the result set without changing scores; `issuer` matches every printed
//!   form of the issuer's entity (and, with `include_predecessors`, of the entities it
//!   succeeded); `status` is the validity the archive's relations give.
//!
//! Ties in relevance are broken by date, newest first. Results can be ordered by how often
//! each document is cited, and collapsed to the newest matching version of each regulation.

mod build;
mod collapse;
mod exclusion;
pub mod export;
mod facets;
mod lazy;
pub mod query;
pub mod snippet;
mod status;

use serde::Serialize;
use std::sync::Arc;
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};

use tantivy::collector::{Count, MultiCollector, MultiFruit, TopDocs};
use tantivy::query::Query;
use tantivy::schema::Field;
use tantivy::{DocAddress, DocId, Order, Score, SegmentReader};
use utoipa::ToSchema;

use crate::index::relations::{Relations, Status, StatusBy, segment_of};
use crate::index::{IndexError, SearchIndex};
use crate::model::{DocNumber, IsoDate};
pub use query::{QueryError, QueryErrorReason};

/// The most hits one request returns.
pub const MAX_LIMIT: usize = 100;
/// Hits returned when no limit is given.
pub const DEFAULT_LIMIT: usize = 10;
/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Values listed per facet when the request does not say.
pub const FACET_VALUES: usize = 20;

/// Filters that narrow a search: every filter given must hold; a filter of several values
/// holds when any of them does (an empty list is no filter).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Printed forms of issuers, exactly (any of them).
    pub issuer: Vec<String>,
    pub doc_type: Vec<String>,
    pub year: Vec<i32>,
    pub date_from: Option<IsoDate>,
    pub date_to: Option<IsoDate>,
    /// The document's own number (any bracket form).
    pub doc_number: Option<DocNumber>,
    pub subject: Vec<String>,
    /// Validity statuses, as the archive's relations give them.
    pub status: Vec<Status>,
    /// `issuer` also matches the entities the issuer succeeded (a renamed bureau's earlier
    /// names).
    pub include_predecessors: bool,
}

/// Result order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Relevance,
    DateDesc,
    DateAsc,
    /// Most cited first, then by relevance.
    CitedBy,
}

impl std::str::FromStr for Sort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "relevance" => Ok(Sort::Relevance),
            "date_desc" => Ok(Sort::DateDesc),
            "date_asc" => Ok(Sort::DateAsc),
            "cited_by" => Ok(Sort::CitedBy),
            other => Err(format!(
                "`{other}` is not one of relevance, date_desc, date_asc, cited_by"
            )),
        }
    }
}

/// The facets a search counts (each costs a pass over the values of the matching documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FacetSet {
    pub issuer: bool,
    pub year: bool,
    pub doc_type: bool,
    pub subject: bool,
    pub status: bool,
}

impl FacetSet {
    pub const ALL: FacetSet = FacetSet {
        issuer: true,
        year: true,
        doc_type: true,
        subject: true,
        status: true,
    };
    pub const NONE: FacetSet = FacetSet {
        issuer: false,
        year: false,
        doc_type: false,
        subject: false,
        status: false,
    };
}

impl Default for FacetSet {
    fn default() -> Self {
        FacetSet::ALL
    }
}

impl std::str::FromStr for FacetSet {
    type Err = String;

    /// Comma-separated facet names (`issuer,year,doc_type,subject,status`); empty for none.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = FacetSet::NONE;
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let slot = match name {
                "issuer" => &mut set.issuer,
                "year" => &mut set.year,
                "doc_type" => &mut set.doc_type,
                "subject" => &mut set.subject,
                "status" => &mut set.status,
                other => {
                    return Err(format!(
                        "`{other}` is not a facet: use issuer, year, doc_type, subject, status (comma-separated), or nothing for none"
                    ));
                }
            };
            *slot = true;
        }
        Ok(set)
    }
}

/// One search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub q: String,
    pub filters: Filters,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
    pub facets: FacetSet,
    /// Values listed per facet; `None` for all of them.
    pub facet_limit: Option<usize>,
    /// Only the newest matching version of each regulation.
    pub collapse_versions: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            q: String::new(),
            filters: Filters::default(),
            sort: Sort::Relevance,
            offset: 0,
            limit: DEFAULT_LIMIT,
            facets: FacetSet::ALL,
            facet_limit: Some(FACET_VALUES),
            collapse_versions: false,
        }
    }
}

/// What a search returns.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Exact number of matching documents (of regulations, when versions are collapsed).
    pub total: usize,
    pub hits: Vec<Hit>,
    pub facets: Facets,
    /// How many distinct values each facet has over the matching documents (a facet lists
    /// at most `facet_limit` of them).
    pub facet_distinct: FacetDistinct,
}

/// The number of distinct values of each facet.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct FacetDistinct {
    pub issuer: usize,
    pub year: usize,
    pub doc_type: usize,
    pub subject: usize,
    pub status: usize,
}

/// One matching document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hit {
    pub id: String,
    pub title: Option<String>,
    pub issuers: Vec<String>,
    pub doc_number: Option<String>,
    #[schema(value_type = Option<String>)]
    pub date: Option<IsoDate>,
    pub doc_type: Option<String>,
    pub subject_words: Vec<String>,
    /// HTML: matched terms in `<mark>`, the rest escaped.
    pub snippet: String,
    /// Relevance score; `null` when sorted by date.
    pub score: Option<f32>,
    pub status: Status,
    /// The evidence when not in force.
    pub status_by: Option<StatusBy>,
    /// Documents in the archive citing it.
    pub cited_by_count: usize,
    /// Versions of its regulation in the archive, itself included.
    pub versions_total: usize,
}

/// The fields of a stored document a hit shows.
#[derive(serde::Deserialize)]
struct HitMeta {
    id: String,
    title: Option<String>,
    issuers: Vec<String>,
    doc_number: Option<String>,
    date: Option<IsoDate>,
    doc_type: Option<String>,
    subject_words: Vec<String>,
}

/// Counts per value, over all matching documents, most frequent first (years in order of
/// the year, oldest first, for charts); a facet the request did not ask for is empty. Issuers
/// count by entity, under its canonical name.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Facets {
    pub issuer: Vec<FacetCount>,
    pub year: Vec<FacetCount>,
    pub doc_type: Vec<FacetCount>,
    pub subject: Vec<FacetCount>,
    pub status: Vec<FacetCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query string is malformed (its message says where; it has no further cause).
    #[error("invalid query: {0}")]
    Query(QueryError),
    /// A parameter is out of range or malformed.
    #[error("invalid parameter `{name}`: {message}")]
    Parameter { name: &'static str, message: String },
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl From<QueryError> for SearchError {
    fn from(e: QueryError) -> Self {
        SearchError::Query(e)
    }
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError::Index(IndexError::Tantivy(e))
    }
}

/// Runs `request` against `index`.
pub fn search(index: &SearchIndex, request: &SearchRequest) -> Result<SearchResponse, SearchError> {
    if request.limit > MAX_LIMIT {
        return Err(SearchError::Parameter {
            name: "limit",
            message: format!("at most {MAX_LIMIT} hits per request; page with `offset`"),
        });
    }
    let searcher = index.searcher();
    let relations = index.relations(&searcher)?;
    let built = prepare(index, request, &relations)?;
    let fields = index.fields();

    let mut collectors = MultiCollector::new();
    let count = collectors.add_collector(Count);
    let wanted = request.facets;
    let facet_fields: Vec<(Field, String, bool)> = [
        (wanted.issuer, fields.issuer_facet),
        (wanted.year, fields.year_facet),
        (wanted.doc_type, fields.doc_type_facet),
        (wanted.subject, fields.subject_facet),
    ]
    .into_iter()
    .filter(|(wanted, _)| *wanted)
    .map(|(_, field)| {
        let name = index.tantivy().schema().get_field_name(field).to_string();
        (field, name, field == fields.issuer_facet)
    })
    .collect();
    let counted: Vec<Field> = facet_fields.iter().map(|(field, _, _)| *field).collect();
    let facet_handle = collectors.add_collector(facets::FacetCounts {
        fields: facet_fields,
        names: index.facet_names(),
    });
    let status_handle = wanted.status.then(|| {
        collectors.add_collector(facets::StatusCounts {
            relations: relations.clone(),
        })
    });
    let (mut fruit, ranked, collapsed_total) =
        rank(&searcher, &*built.query, collectors, request, &relations)?;
    let total = collapsed_total.unwrap_or_else(|| count.extract(&mut fruit));
    let mut distinct = FacetDistinct::default();
    let mut lists: Vec<(Field, Vec<FacetCount>)> = counted
        .into_iter()
        .zip(facet_handle.extract(&mut fruit))
        .map(|(field, counts)| {
            let values: Vec<FacetCount> = counts
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect();
            (field, values)
        })
        .collect();
    let mut take = |field: Field, slot: &mut usize| {
        let values = lists
            .iter_mut()
            .find(|(f, _)| *f == field)
            .map(|(_, values)| std::mem::take(values))
            .unwrap_or_default();
        *slot = values.len();
        values
    };
    let mut facets = Facets {
        issuer: take(fields.issuer_facet, &mut distinct.issuer),
        year: take(fields.year_facet, &mut distinct.year),
        doc_type: take(fields.doc_type_facet, &mut distinct.doc_type),
        subject: take(fields.subject_facet, &mut distinct.subject),
        status: Vec::new(),
    };
    if let Some(handle) = status_handle {
        facets.status = Status::ALL
            .iter()
            .zip(handle.extract(&mut fruit))
            .filter(|(_, count)| *count > 0)
            .map(|(status, count)| FacetCount {
                value: status.name().to_string(),
                count,
            })
            .collect();
        distinct.status = facets.status.len();
    }
    let limit = request.facet_limit.unwrap_or(usize::MAX);
    for values in [
        &mut facets.issuer,
        &mut facets.doc_type,
        &mut facets.subject,
        &mut facets.status,
        &mut facets.year,
    ] {
        values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        values.truncate(limit);
    }
    facets.year.sort_by(|a, b| a.value.cmp(&b.value));
    let patterns = snippet::Patterns::new(&built.highlights);
    let hits = if request.limit == 0 {
        Vec::new()
    } else {
        let addresses: Vec<DocAddress> = ranked.iter().map(|(_, address)| *address).collect();
        let matches =
            snippet::Matcher::new(&patterns, fields.body_chars).positions(&searcher, &addresses)?;
        ranked
            .into_iter()
            .zip(matches)
            .map(|((score, address), matches)| {
                let (meta, text): (HitMeta, _) = index.stored_hit(&searcher, address)?;
                let summary = relations
                    .summary(segment_of(&searcher, address), address.doc_id)
                    .ok_or_else(|| {
                        IndexError::Corrupt(format!("document {} has no relations", meta.id))
                    })?;
                Ok(Hit {
                    snippet: snippet::snippet(&text, &matches, &patterns).map_err(|e| {
                        IndexError::Corrupt(format!("the text of {}: {e}", meta.id))
                    })?,
                    id: meta.id,
                    title: meta.title,
                    issuers: meta.issuers,
                    doc_number: meta.doc_number,
                    date: meta.date,
                    doc_type: meta.doc_type,
                    subject_words: meta.subject_words,
                    score,
                    status: summary.status,
                    status_by: summary.status_by,
                    cited_by_count: summary.cited_by_count,
                    versions_total: summary.versions_total,
                })
            })
            .collect::<Result<Vec<Hit>, SearchError>>()?
    };
    Ok(SearchResponse {
        total,
        hits,
        facets,
        facet_distinct: distinct,
    })
}

/// Every value of every facet over the whole index.
pub fn all_facets(index: &SearchIndex) -> Result<Facets, SearchError> {
    let request = SearchRequest {
        limit: 0,
        facet_limit: None,
        ..SearchRequest::default()
    };
    Ok(search(index, &request)?.facets)
}

/// The request's query, checked and built against `relations`.
fn prepare(
    index: &SearchIndex,
    request: &SearchRequest,
    relations: &Arc<Relations>,
) -> Result<BuiltQuery, SearchError> {
    if request.q.chars().count() > MAX_QUERY_CHARS {
        return Err(SearchError::Parameter {
            name: "q",
            message: format!("the query is longer than {MAX_QUERY_CHARS} characters"),
        });
    }
    let parsed = query::parse(&request.q)?;
    // Ranked by relevance (the date breaks ties): the page is the first `offset + limit` (at
    // least one is kept).
    let ranking_top = (request.sort == Sort::Relevance && !request.collapse_versions)
        .then(|| request.offset.saturating_add(request.limit.max(1)));
    Ok(build::build(
        index.fields(),
        parsed.as_ref(),
        &request.filters,
        relations,
        ranking_top,
    ))
}

/// `text` with the terms of the query `q` marked as a hit's snippet marks them, the rest
/// HTML-escaped, line breaks kept.
pub fn highlighted(
    index: &SearchIndex,
    relations: &Arc<Relations>,
    q: &str,
    text: &str,
) -> Result<String, SearchError> {
    let request = SearchRequest {
        q: q.to_string(),
        ..SearchRequest::default()
    };
    let built = prepare(index, &request, relations)?;
    Ok(snippet::highlight(
        text,
        &snippet::Patterns::new(&built.highlights),
    ))
}

/// A page of ranked addresses (score when ranked by relevance).
type Ranked = Vec<(Option<Score>, DocAddress)>;

/// Runs `query` with `collectors` beside the ranking `request` asks for; returns their fruit,
/// the page, and, when versions are collapsed, the number of regulations matching.
fn rank(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    collectors: MultiCollector,
    request: &SearchRequest,
    relations: &Arc<Relations>,
) -> Result<(MultiFruit, Ranked, Option<usize>), SearchError> {
    if request.collapse_versions {
        let collapse = collapse::Collapse {
            relations: relations.clone(),
        };
        let (fruit, newest) = searcher.search(query, &(collectors, collapse))?;
        let total = newest.len();
        let page = collapsed_page(searcher, relations, newest, request);
        return Ok((fruit, page, Some(total)));
    }
    // Past the last document there is nothing to rank; the collector would still make room
    // for `offset` hits, so a huge offset must not reach it.
    let offset = request.offset.min(searcher.num_docs() as usize);
    let top = TopDocs::with_limit(request.limit.max(1)).and_offset(offset);
    let (fruit, ranked): (MultiFruit, Ranked) = match request.sort {
        Sort::Relevance => {
            let collector = top.order_by((
                (SortBySimilarityScore, Order::Desc),
                (
                    SortByStaticFastValue::<i64>::for_field("date_days"),
                    Order::Desc,
                ),
            ));
            let (fruit, hits) = searcher.search(query, &(collectors, collector))?;
            (
                fruit,
                hits.into_iter()
                    .map(|((score, _), address)| (Some(score), address))
                    .collect(),
            )
        }
        Sort::CitedBy => {
            let relations = relations.clone();
            let collector = top.tweak_score(move |reader: &SegmentReader| {
                let (relations, slot) = (relations.clone(), relations.segment(reader.segment_id()));
                move |doc: DocId, score: Score| {
                    let count = slot.map_or(0, |slot| relations.cited_by_count(slot, doc));
                    (count, score)
                }
            });
            let (fruit, hits) = searcher.search(query, &(collectors, collector))?;
            (
                fruit,
                hits.into_iter()
                    .map(|((_, score), address)| (Some(score), address))
                    .collect(),
            )
        }
        Sort::DateDesc | Sort::DateAsc => {
            let order = if request.sort == Sort::DateDesc {
                Order::Desc
            } else {
                Order::Asc
            };
            let collector = top.order_by_fast_field::<i64>("date_days", order);
            let (fruit, hits) = searcher.search(query, &(collectors, collector))?;
            (
                fruit,
                hits.into_iter()
                    .map(|(_, address)| (None, address))
                    .collect(),
            )
        }
    };
    Ok((fruit, ranked, None))
}

/// The page of the newest matching version of each regulation, each ranked by its own score,
/// date or citations as the request sorts (undated ones last in a date order).
fn collapsed_page(
    searcher: &tantivy::Searcher,
    relations: &Relations,
    newest: std::collections::HashMap<u32, collapse::Newest>,
    request: &SearchRequest,
) -> Ranked {
    // Citation counts looked up once per regulation, not at every comparison.
    let cited = |n: &collapse::Newest| {
        relations
            .segment(segment_of(searcher, n.address))
            .map_or(0, |slot| relations.cited_by_count(slot, n.address.doc_id))
    };
    let mut kept: Vec<(u32, collapse::Newest)> = newest
        .into_values()
        .map(|n| {
            (
                if request.sort == Sort::CitedBy {
                    cited(&n)
                } else {
                    0
                },
                n,
            )
        })
        .collect();
    let by_score = |a: &collapse::Newest, b: &collapse::Newest| b.score.total_cmp(&a.score);
    let undated_last =
        |a: &collapse::Newest, b: &collapse::Newest| a.date.is_none().cmp(&b.date.is_none());
    kept.sort_by(|(a_cited, a), (b_cited, b)| {
        let order = match request.sort {
            Sort::Relevance => by_score(a, b).then(b.date.cmp(&a.date)),
            Sort::CitedBy => b_cited.cmp(a_cited).then(by_score(a, b)),
            Sort::DateDesc => undated_last(a, b).then(b.date.cmp(&a.date)),
            Sort::DateAsc => undated_last(a, b).then(a.date.cmp(&b.date)),
        };
        order.then(a.address.cmp(&b.address))
    });
    let scored = matches!(request.sort, Sort::Relevance | Sort::CitedBy);
    kept.into_iter()
        .skip(request.offset)
        .take(request.limit)
        .map(|(_, n)| (scored.then_some(n.score), n.address))
        .collect()
}

/// A query and the terms its snippets mark.
pub struct BuiltQuery {
    pub query: Box<dyn Query>,
    pub highlights: Vec<String>,
}
