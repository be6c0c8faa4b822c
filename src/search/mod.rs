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
//! - filters narrow the result set without changing scores.
//!
//! Ties in relevance are broken by date, newest first.

mod build;
mod exclusion;
mod facets;
pub mod query;
pub mod snippet;

use serde::Serialize;
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
use tantivy::collector::{Count, MultiCollector, TopDocs};
use tantivy::query::Query;
use tantivy::schema::Field;
use tantivy::{DocAddress, Order, Score, TantivyDocument};
use utoipa::ToSchema;

use crate::index::{IndexError, SearchIndex};
use crate::model::{DocNumber, IsoDate};
pub use query::QueryError;

/// The most hits one request returns.
pub const MAX_LIMIT: usize = 100;
/// Hits returned when no limit is given.
pub const DEFAULT_LIMIT: usize = 10;
/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Values listed per facet.
const FACET_VALUES: usize = 20;

/// Filters that narrow a search; all must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Any printed form of an issuer, exactly.
    pub issuer: Option<String>,
    pub doc_type: Option<String>,
    pub year: Option<i32>,
    pub date_from: Option<IsoDate>,
    pub date_to: Option<IsoDate>,
    /// The document's own number (any bracket form).
    pub doc_number: Option<DocNumber>,
    pub subject: Option<String>,
}

/// Result order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Relevance,
    DateDesc,
    DateAsc,
}

impl std::str::FromStr for Sort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "relevance" => Ok(Sort::Relevance),
            "date_desc" => Ok(Sort::DateDesc),
            "date_asc" => Ok(Sort::DateAsc),
            other => Err(format!(
                "`{other}` is not one of relevance, date_desc, date_asc"
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
}

impl FacetSet {
    pub const ALL: FacetSet = FacetSet {
        issuer: true,
        year: true,
        doc_type: true,
        subject: true,
    };
    pub const NONE: FacetSet = FacetSet {
        issuer: false,
        year: false,
        doc_type: false,
        subject: false,
    };
}

impl Default for FacetSet {
    fn default() -> Self {
        FacetSet::ALL
    }
}

impl std::str::FromStr for FacetSet {
    type Err = String;

    /// Comma-separated facet names (`issuer,year,doc_type,subject`); empty for none.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = FacetSet::NONE;
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let slot = match name {
                "issuer" => &mut set.issuer,
                "year" => &mut set.year,
                "doc_type" => &mut set.doc_type,
                "subject" => &mut set.subject,
                other => {
                    return Err(format!(
                        "`{other}` is not a facet: use issuer, year, doc_type, subject (comma-separated), or nothing for none"
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
        }
    }
}

/// What a search returns.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Exact number of matching documents.
    pub total: usize,
    pub hits: Vec<Hit>,
    pub facets: Facets,
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

/// Counts per value, over all matching documents; a facet the request did not ask for is
/// empty.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Facets {
    pub issuer: Vec<FacetCount>,
    pub year: Vec<FacetCount>,
    pub doc_type: Vec<FacetCount>,
    pub subject: Vec<FacetCount>,
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
    search_with_facets(index, request, FACET_VALUES)
}

/// Every value of every facet over the whole index.
pub fn all_facets(index: &SearchIndex) -> Result<Facets, SearchError> {
    let request = SearchRequest {
        limit: 0,
        ..SearchRequest::default()
    };
    Ok(search_with_facets(index, &request, usize::MAX)?.facets)
}

fn search_with_facets(
    index: &SearchIndex,
    request: &SearchRequest,
    facet_values: usize,
) -> Result<SearchResponse, SearchError> {
    if request.limit > MAX_LIMIT {
        return Err(SearchError::Parameter {
            name: "limit",
            message: format!("at most {MAX_LIMIT} hits per request; page with `offset`"),
        });
    }
    if request.q.chars().count() > MAX_QUERY_CHARS {
        return Err(SearchError::Parameter {
            name: "q",
            message: format!("the query is longer than {MAX_QUERY_CHARS} characters"),
        });
    }
    let parsed = query::parse(&request.q)?;
    let built = build::build(index.fields(), parsed.as_ref(), &request.filters);
    let searcher = index.searcher();
    let fields = index.fields();

    let mut collectors = MultiCollector::new();
    let count = collectors.add_collector(Count);
    let wanted = request.facets;
    let facet_fields: Vec<(Field, String)> = [
        (wanted.issuer, fields.issuer_facet),
        (wanted.year, fields.year_facet),
        (wanted.doc_type, fields.doc_type_facet),
        (wanted.subject, fields.subject_facet),
    ]
    .into_iter()
    .filter(|(wanted, _)| *wanted)
    .map(|(_, field)| {
        let name = index.tantivy().schema().get_field_name(field).to_string();
        (field, name)
    })
    .collect();
    let counted: Vec<Field> = facet_fields.iter().map(|(field, _)| *field).collect();
    let facet_handle = collectors.add_collector(facets::FacetCounts {
        fields: facet_fields,
        names: index.facet_names(),
    });
    // Past the last document there is nothing to rank; the collector would still make room
    // for `offset` hits, so a huge offset must not reach it.
    let offset = request.offset.min(searcher.num_docs() as usize);
    let top = TopDocs::with_limit(request.limit.max(1)).and_offset(offset);
    let (mut fruit, ranked): (_, Vec<(Option<Score>, DocAddress)>) = match request.sort {
        Sort::Relevance => {
            let collector = top.order_by((
                (SortBySimilarityScore, Order::Desc),
                (
                    SortByStaticFastValue::<i64>::for_field("date_days"),
                    Order::Desc,
                ),
            ));
            let (fruit, hits) = searcher.search(&*built.query, &(collectors, collector))?;
            (
                fruit,
                hits.into_iter()
                    .map(|((score, _), address)| (Some(score), address))
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
            let (fruit, hits) = searcher.search(&*built.query, &(collectors, collector))?;
            (
                fruit,
                hits.into_iter()
                    .map(|(_, address)| (None, address))
                    .collect(),
            )
        }
    };
    let total = count.extract(&mut fruit);
    let mut lists: Vec<(Field, Vec<FacetCount>)> = counted
        .into_iter()
        .zip(facet_handle.extract(&mut fruit))
        .map(|(field, counts)| {
            let mut values: Vec<FacetCount> = counts
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect();
            values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            values.truncate(facet_values);
            (field, values)
        })
        .collect();
    let mut take = |field: Field| {
        lists
            .iter_mut()
            .find(|(f, _)| *f == field)
            .map(|(_, values)| std::mem::take(values))
            .unwrap_or_default()
    };
    let mut facets = Facets {
        issuer: take(fields.issuer_facet),
        year: take(fields.year_facet),
        doc_type: take(fields.doc_type_facet),
        subject: take(fields.subject_facet),
    };
    facets.year.sort_by(|a, b| b.value.cmp(&a.value));
    let patterns = snippet::Patterns::new(&built.highlights);
    let hits = if request.limit == 0 {
        Vec::new()
    } else {
        ranked
            .into_iter()
            .map(|(score, address)| {
                let stored: TantivyDocument = searcher.doc(address)?;
                let (meta, text): (HitMeta, &str) = index.stored_hit(&stored)?;
                let matches =
                    snippet::match_positions(&searcher, address, fields.body_chars, &patterns)?;
                Ok(Hit {
                    snippet: snippet::snippet(text, &matches, &patterns),
                    id: meta.id,
                    title: meta.title,
                    issuers: meta.issuers,
                    doc_number: meta.doc_number,
                    date: meta.date,
                    doc_type: meta.doc_type,
                    subject_words: meta.subject_words,
                    score,
                })
            })
            .collect::<Result<Vec<Hit>, SearchError>>()?
    };
    Ok(SearchResponse {
        total,
        hits,
        facets,
    })
}

/// A query and the terms its snippets mark.
pub struct BuiltQuery {
    pub query: Box<dyn Query>,
    pub highlights: Vec<String>,
}
