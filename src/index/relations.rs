//! What the archive says about its documents as a whole, derived again whenever the index
//! changes, so that a document imported later is found by the ones that cited it earlier:
//!
//! - **citations**, resolved: a cited number to the documents bearing it as their own, a cited
//!   《title》 to the documents with that title (under [`vocab::title_key`]), the version in
//!   force at the citing document's date marked. A title citation counts towards that version's
//!   `cited_by` only; a number towards every document bearing it.
//! - **versions**: documents with the same title key and the same issuer entity (or an unknown
//!   issuer, where the title has one issuer), oldest first; an undated version is grouped but
//!   neither supersedes nor is superseded.
//! - **status**, with its evidence: `repealed` (a later document's repeal sentence names it by
//!   number or title), else `superseded` (a newer version exists), else `expired` (its stated
//!   validity has passed), else `in_force`.
//!
//! Each segment's records are read from the store once and kept while the segment lives; what
//! links them is rebuilt from the records on every reload (hash maps over the records, no I/O).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tantivy::index::SegmentId;
use tantivy::schema::Value;
use tantivy::{BitSet, DocAddress, DocId, SegmentReader, TantivyDocument};
use utoipa::ToSchema;

use super::IndexError;
use super::schema::Fields;
use crate::lang::issuers::Entities;
use crate::lang::vocab;
use crate::model::{Citation, CitationKind, Event, IsoDate};

/// What a relation needs of a stored document (read from its JSON).
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub id: String,
    pub title: Option<String>,
    #[serde(default)]
    pub issuers: Vec<String>,
    pub doc_number: Option<String>,
    pub doc_type: Option<String>,
    pub date: Option<IsoDate>,
    #[serde(default)]
    pub citations: Vec<Citation>,
    #[serde(default)]
    pub repeals: Vec<Citation>,
    #[serde(default)]
    pub events: Vec<Event>,
    pub valid_until: Option<IsoDate>,
}

/// Whether a document is in force, as the archive shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InForce,
    Superseded,
    Repealed,
    Expired,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::InForce,
        Status::Superseded,
        Status::Repealed,
        Status::Expired,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Status::InForce => "in_force",
            Status::Superseded => "superseded",
            Status::Repealed => "repealed",
            Status::Expired => "expired",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.name() == s.trim())
            .ok_or_else(|| {
                format!("`{s}` is not a status: use in_force, superseded, repealed or expired")
            })
    }
}

/// A document another one refers to, as a list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DocRef {
    pub id: String,
    pub title: Option<String>,
    #[schema(value_type = Option<String>)]
    pub date: Option<IsoDate>,
}

/// Why a document is not in force: the document that shows it, and its words.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StatusBy {
    pub id: String,
    pub title: Option<String>,
    /// The repealing sentence, or the newer version's event.
    pub context: String,
}

/// A citation with the documents it names.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResolvedCitation {
    pub kind: CitationKind,
    pub text: String,
    pub context: String,
    pub resolved: Vec<ResolvedRef>,
}

/// A document a citation names.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResolvedRef {
    pub id: String,
    pub title: Option<String>,
    #[schema(value_type = Option<String>)]
    pub date: Option<IsoDate>,
    /// The version in force at the citing document's date (for a title citation).
    pub in_force_at_citation: bool,
}

/// A document citing another, with the sentence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CitingRef {
    pub id: String,
    pub title: Option<String>,
    #[schema(value_type = Option<String>)]
    pub date: Option<IsoDate>,
    pub context: String,
}

/// One citation of a node: the citing node and the index of the citation in its list.
#[derive(Debug, Clone, Copy)]
struct Cite {
    from: u32,
    citation: u32,
}

/// The relations of one reader generation.
#[derive(Debug, Default)]
pub struct Relations {
    nodes: Vec<Arc<Record>>,
    /// Node of each document of each segment (`u32::MAX`: deleted), and where each
    /// segment's list is.
    slots: Vec<Vec<u32>>,
    by_segment: HashMap<SegmentId, usize>,
    by_id: HashMap<String, u32>,
    by_number: HashMap<String, Vec<u32>>,
    by_title: HashMap<String, Vec<u32>>,
    cited_by: Vec<Vec<Cite>>,
    /// Issuer entity of each node (canonical name of its first issuer).
    entity: Vec<Option<String>>,
    /// Version group of each node, and the groups' nodes oldest first.
    group: Vec<u32>,
    groups: Vec<Vec<u32>>,
    status: Vec<(Status, Option<(u32, String)>)>,
}

const DELETED: u32 = u32::MAX;

/// A segment's place in [`Relations`].
#[derive(Debug, Clone, Copy)]
pub struct SegmentSlot(usize);

impl Relations {
    /// The relations of `records` (per live segment, with its alive bitset applied already),
    /// on the day `today`.
    fn build(segments: Vec<(SegmentId, Vec<Option<Arc<Record>>>)>, today: IsoDate) -> Relations {
        let mut r = Relations::default();
        for (segment, records) in segments {
            let mut slots = Vec::with_capacity(records.len());
            for record in records {
                match record {
                    Some(record) => {
                        let node = r.nodes.len() as u32;
                        r.by_id.insert(record.id.clone(), node);
                        if let Some(number) = &record.doc_number {
                            r.by_number.entry(number.clone()).or_default().push(node);
                        }
                        if let Some(title) = &record.title {
                            r.by_title
                                .entry(vocab::title_key(title))
                                .or_default()
                                .push(node);
                        }
                        r.nodes.push(record);
                        slots.push(node);
                    }
                    None => slots.push(DELETED),
                }
            }
            r.by_segment.insert(segment, r.slots.len());
            r.slots.push(slots);
        }
        r.group_versions();
        r.cited_by = vec![Vec::new(); r.nodes.len()];
        for from in 0..r.nodes.len() as u32 {
            for (i, citation) in r.nodes[from as usize].citations.iter().enumerate() {
                for target in r.counted_targets(from, citation) {
                    let citing = &mut r.cited_by[target as usize];
                    // A document citing another by title and number cites it once.
                    if citing.last().is_none_or(|c| c.from != from) {
                        citing.push(Cite {
                            from,
                            citation: i as u32,
                        });
                    }
                }
            }
        }
        r.derive_status(today);
        r
    }

    /// Groups documents by title key and issuer entity; a document whose issuer is unknown
    /// joins the one group of its title, if there is exactly one. Each group oldest first.
    fn group_versions(&mut self) {
        let entities = Entities::bundled();
        let mut keys: HashMap<(String, String), u32> = HashMap::new();
        let mut unknown_issuer: Vec<(u32, String)> = Vec::new();
        self.group = vec![0; self.nodes.len()];
        self.entity = self
            .nodes
            .iter()
            .map(|r| r.issuers.first().map(|i| entities.canonical(i)))
            .collect();
        for (node, record) in self.nodes.iter().enumerate() {
            // Only texts in force until changed have versions: a notice reissued under the
            // same title is a new notice, not a revision of the old one.
            let title = record
                .title
                .as_deref()
                .filter(|_| record.doc_type.as_deref().is_some_and(vocab::is_normative))
                .map(vocab::title_key)
                .filter(|t| !t.is_empty());
            let issuer = self.entity[node].clone();
            let group = match (title, issuer) {
                (Some(title), Some(issuer)) => *keys.entry((title, issuer)).or_insert_with(|| {
                    self.groups.push(Vec::new());
                    self.groups.len() as u32 - 1
                }),
                (title, _) => {
                    if let Some(title) = title {
                        unknown_issuer.push((node as u32, title));
                    }
                    self.groups.push(Vec::new());
                    self.groups.len() as u32 - 1
                }
            };
            self.groups[group as usize].push(node as u32);
            self.group[node] = group;
        }
        let mut by_title: HashMap<&str, Vec<u32>> = HashMap::new();
        for ((title, _), group) in &keys {
            by_title.entry(title.as_str()).or_default().push(*group);
        }
        for (node, title) in unknown_issuer {
            if let Some([only]) = by_title.get(title.as_str()).map(Vec::as_slice) {
                let own = self.group[node as usize];
                self.groups[own as usize].clear();
                self.groups[*only as usize].push(node);
                self.group[node as usize] = *only;
            }
        }
        let nodes = &self.nodes;
        for group in &mut self.groups {
            group.sort_by(|a, b| {
                let (a, b) = (&nodes[*a as usize], &nodes[*b as usize]);
                a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id))
            });
        }
    }

    /// Every node a citation names, itself excluded.
    fn targets(&self, from: u32, citation: &Citation) -> Vec<u32> {
        let list = match citation.kind {
            CitationKind::Number => self.by_number.get(&citation.text),
            CitationKind::Title => self.by_title.get(&vocab::title_key(&citation.text)),
        };
        list.into_iter()
            .flatten()
            .copied()
            .filter(|t| *t != from)
            .collect()
    }

    /// The one regulation (version group) a title citation names among its targets: the only
    /// one, else the only one of the citing document's issuer; `None` when that leaves several
    /// (the same title from other issuers: which one is meant, the text does not say).
    fn cited_group(&self, from: u32, targets: &[u32]) -> Option<u32> {
        let mut groups: Vec<u32> = targets.iter().map(|t| self.group[*t as usize]).collect();
        groups.sort_unstable();
        groups.dedup();
        if let [only] = groups.as_slice() {
            return Some(*only);
        }
        let own = self.entity[from as usize].as_ref()?;
        let mut same: Vec<u32> = targets
            .iter()
            .filter(|t| self.entity[**t as usize].as_ref() == Some(own))
            .map(|t| self.group[*t as usize])
            .collect();
        same.sort_unstable();
        same.dedup();
        match same.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }

    /// The targets of a citation that name what it means: every document bearing a number;
    /// for a title, the versions of the regulation it names (none when that is ambiguous).
    fn meant_targets(&self, from: u32, citation: &Citation) -> Vec<u32> {
        let targets = self.targets(from, citation);
        match citation.kind {
            CitationKind::Number => targets,
            CitationKind::Title => match self.cited_group(from, &targets) {
                Some(group) => targets
                    .into_iter()
                    .filter(|t| self.group[*t as usize] == group)
                    .collect(),
                None => Vec::new(),
            },
        }
    }

    /// Of a title citation's versions, the one in force at the citing date: the latest dated
    /// on or before it (the latest of all when either date is unknown).
    fn in_force_at(&self, from: u32, versions: &[u32]) -> Option<u32> {
        let date = self.nodes[from as usize].date;
        let dated = |t: &u32| match (date, self.nodes[*t as usize].date) {
            (Some(at), Some(d)) => d <= at,
            _ => true,
        };
        versions
            .iter()
            .copied()
            .filter(dated)
            .max_by(|a, b| self.order(*a, *b))
    }

    /// Nodes ordered by date, then id.
    fn order(&self, a: u32, b: u32) -> std::cmp::Ordering {
        let (a, b) = (&self.nodes[a as usize], &self.nodes[b as usize]);
        a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id))
    }

    /// The targets a citation counts for (see the module comment).
    fn counted_targets(&self, from: u32, citation: &Citation) -> Vec<u32> {
        let meant = self.meant_targets(from, citation);
        match citation.kind {
            CitationKind::Number => meant,
            CitationKind::Title => self.in_force_at(from, &meant).into_iter().collect(),
        }
    }

    fn derive_status(&mut self, today: IsoDate) {
        let mut status: Vec<(Status, Option<(u32, String)>)> =
            vec![(Status::InForce, None); self.nodes.len()];
        for (node, record) in self.nodes.iter().enumerate() {
            if record.valid_until.is_some_and(|until| until < today) {
                status[node] = (Status::Expired, None);
            }
        }
        for group in &self.groups {
            for (i, old) in group.iter().enumerate() {
                // An undated version is older or newer than none: no evidence either way.
                let Some(date) = self.nodes[*old as usize].date else {
                    continue;
                };
                // The next version dated later is the evidence.
                let Some(new) = group[i + 1..]
                    .iter()
                    .find(|n| self.nodes[**n as usize].date.is_some_and(|d| d > date))
                else {
                    continue;
                };
                let newer = &self.nodes[*new as usize];
                let context = newer.events.last().map_or_else(
                    || format!("{} 的新版本", date_or_unknown(newer.date)),
                    |e| match &e.action {
                        Some(action) => format!("{} {action}", e.date),
                        None => e.date.to_string(),
                    },
                );
                status[*old as usize] = (Status::Superseded, Some((*new, context)));
            }
        }
        for from in 0..self.nodes.len() as u32 {
            let repealing = &self.nodes[from as usize];
            for repeal in &repealing.repeals {
                for target in self.meant_targets(from, repeal) {
                    let earlier = match (self.nodes[target as usize].date, repealing.date) {
                        (Some(t), Some(f)) => t <= f,
                        _ => true,
                    };
                    // The earliest repeal is the evidence, whatever the segments' order.
                    let first = match &status[target as usize] {
                        (Status::Repealed, Some((by, _))) => {
                            self.order(from, *by) == std::cmp::Ordering::Less
                        }
                        _ => true,
                    };
                    if earlier && first {
                        status[target as usize] =
                            (Status::Repealed, Some((from, repeal.context.clone())));
                    }
                }
            }
        }
        self.status = status;
    }

    fn node_at(&self, segment: SegmentId, doc: DocId) -> Option<u32> {
        self.node_in(self.segment(segment)?, doc)
    }

    /// Where the documents of `segment` are (for looking up many of them).
    pub fn segment(&self, segment: SegmentId) -> Option<SegmentSlot> {
        self.by_segment.get(&segment).copied().map(SegmentSlot)
    }

    fn node_in(&self, slot: SegmentSlot, doc: DocId) -> Option<u32> {
        let node = *self.slots.get(slot.0)?.get(doc as usize)?;
        (node != DELETED).then_some(node)
    }

    fn doc_ref(&self, node: u32) -> DocRef {
        let record = &self.nodes[node as usize];
        DocRef {
            id: record.id.clone(),
            title: record.title.clone(),
            date: record.date,
        }
    }

    /// What a hit shows of the document at `doc` of `segment`.
    pub fn summary(&self, segment: SegmentId, doc: DocId) -> Option<Summary> {
        self.node_at(segment, doc).map(|node| self.summary_of(node))
    }

    /// What a hit or a document shows of the document `id`.
    pub fn summary_by_id(&self, id: &str) -> Option<Summary> {
        self.by_id.get(id).map(|node| self.summary_of(*node))
    }

    fn summary_of(&self, node: u32) -> Summary {
        let (status, by) = &self.status[node as usize];
        Summary {
            status: *status,
            status_by: by.as_ref().map(|(by, context)| StatusBy {
                id: self.nodes[*by as usize].id.clone(),
                title: self.nodes[*by as usize].title.clone(),
                context: context.clone(),
            }),
            cited_by_count: self.cited_by[node as usize].len(),
            versions_total: self.groups[self.group[node as usize] as usize].len(),
        }
    }

    /// The status of the document at `doc` of a segment.
    pub fn status_at(&self, slot: SegmentSlot, doc: DocId) -> Option<Status> {
        self.node_in(slot, doc)
            .map(|node| self.status[node as usize].0)
    }

    /// How often the document at `doc` of a segment is cited (0 for one not known).
    pub fn cited_by_count(&self, slot: SegmentSlot, doc: DocId) -> u32 {
        self.node_in(slot, doc)
            .map_or(0, |node| self.cited_by[node as usize].len() as u32)
    }

    /// The version group of the document at `doc` of a segment, and its date.
    pub fn version_group(&self, slot: SegmentSlot, doc: DocId) -> Option<(u32, Option<IsoDate>)> {
        self.node_in(slot, doc)
            .map(|node| (self.group[node as usize], self.nodes[node as usize].date))
    }

    /// The documents of `segment` with status `status`.
    pub fn with_status(&self, segment: SegmentId, max_doc: u32, status: Status) -> BitSet {
        let mut set = BitSet::with_max_value(max_doc);
        let nodes = self
            .segment(segment)
            .and_then(|slot| self.slots.get(slot.0));
        for (doc, node) in nodes.into_iter().flatten().enumerate() {
            if *node != DELETED && self.status[*node as usize].0 == status {
                set.insert(doc as u32);
            }
        }
        set
    }

    /// What the document `id` cites, resolved; who cites it (newest first, at most `limit`)
    /// and how many do.
    pub fn citations(&self, id: &str, limit: usize) -> Option<Citations> {
        let node = *self.by_id.get(id)?;
        let record = &self.nodes[node as usize];
        let cites = record
            .citations
            .iter()
            .map(|citation| {
                let targets = self.targets(node, citation);
                let marked = match citation.kind {
                    CitationKind::Title => {
                        self.in_force_at(node, &self.meant_targets(node, citation))
                    }
                    CitationKind::Number => None,
                };
                let mut resolved: Vec<ResolvedRef> = targets
                    .iter()
                    .map(|t| {
                        let r = self.doc_ref(*t);
                        ResolvedRef {
                            id: r.id,
                            title: r.title,
                            date: r.date,
                            in_force_at_citation: marked == Some(*t),
                        }
                    })
                    .collect();
                resolved.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
                ResolvedCitation {
                    kind: citation.kind,
                    text: citation.text.clone(),
                    context: citation.context.clone(),
                    resolved,
                }
            })
            .collect();
        let mut citing: Vec<Cite> = self.cited_by[node as usize].clone();
        citing.sort_by(|a, b| self.order(b.from, a.from));
        let cited_by_total = citing.len();
        let cited_by = citing
            .into_iter()
            .take(limit)
            .map(|cite| {
                let r = self.doc_ref(cite.from);
                CitingRef {
                    id: r.id,
                    title: r.title,
                    date: r.date,
                    context: self.nodes[cite.from as usize].citations[cite.citation as usize]
                        .context
                        .clone(),
                }
            })
            .collect();
        Some(Citations {
            cites,
            cited_by,
            cited_by_total,
        })
    }

    /// The versions of the document `id`'s regulation, oldest first.
    pub fn versions(&self, id: &str) -> Option<Versions> {
        let node = *self.by_id.get(id)?;
        let group = &self.groups[self.group[node as usize] as usize];
        let versions = group
            .iter()
            .map(|v| {
                let record = &self.nodes[*v as usize];
                Version {
                    id: record.id.clone(),
                    title: record.title.clone(),
                    date: record.date,
                    events: record.events.clone(),
                    status: self.status[*v as usize].0,
                    this: *v == node,
                }
            })
            .collect();
        Some(Versions {
            total: group.len(),
            versions,
        })
    }

    /// Live documents known.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every record, with its summary (for measuring the relations of a corpus).
    pub fn records(&self) -> impl Iterator<Item = (&Record, Summary)> {
        (0..self.nodes.len() as u32).map(|n| (&*self.nodes[n as usize], self.summary_of(n)))
    }
}

fn date_or_unknown(date: Option<IsoDate>) -> String {
    date.map_or_else(|| "日期不详".to_string(), |d| d.to_string())
}

/// What every hit and document carries of the relations.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Summary {
    pub status: Status,
    /// The evidence when not in force.
    pub status_by: Option<StatusBy>,
    pub cited_by_count: usize,
    /// Versions of its regulation in the archive, itself included.
    pub versions_total: usize,
}

/// `GET /api/documents/{id}/citations`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Citations {
    pub cites: Vec<ResolvedCitation>,
    pub cited_by: Vec<CitingRef>,
    pub cited_by_total: usize,
}

/// `GET /api/documents/{id}/versions`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Versions {
    pub total: usize,
    pub versions: Vec<Version>,
}

/// One version of a regulation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Version {
    pub id: String,
    pub title: Option<String>,
    #[schema(value_type = Option<String>)]
    pub date: Option<IsoDate>,
    pub events: Vec<Event>,
    pub status: Status,
    /// The document asked about.
    pub this: bool,
}

/// The relations of the newest reader generation, and the records of its segments.
#[derive(Default)]
pub struct RelationsCache {
    records: Mutex<HashMap<SegmentId, Arc<Vec<Arc<Record>>>>>,
    /// The newest relations built: their generation and day (status changes at midnight).
    current: Mutex<Option<(u64, IsoDate, Arc<Relations>)>>,
}

impl RelationsCache {
    /// The relations of `searcher`'s generation, built if not yet. One build runs at a time
    /// (the others wait for it rather than read the same segments again). A request still
    /// holding an older generation gets relations of its own and leaves the cache to the
    /// newer one.
    pub fn get(
        &self,
        searcher: &tantivy::Searcher,
        fields: &Fields,
    ) -> Result<Arc<Relations>, IndexError> {
        let generation = searcher.generation().generation_id();
        let today = IsoDate::today();
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((g, day, relations)) = current.as_ref()
            && *g == generation
            && *day == today
        {
            return Ok(relations.clone());
        }
        let newest = current.as_ref().is_none_or(|(g, _, _)| generation >= *g);
        let mut segments = Vec::new();
        {
            let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
            let mut kept = HashMap::new();
            for reader in searcher.segment_readers() {
                let id = reader.segment_id();
                let all = match records.get(&id) {
                    Some(all) => all.clone(),
                    None => Arc::new(read_segment(reader, fields)?),
                };
                let alive: Vec<Option<Arc<Record>>> = all
                    .iter()
                    .enumerate()
                    .map(|(doc, r)| (!reader.is_deleted(doc as DocId)).then(|| r.clone()))
                    .collect();
                segments.push((id, alive));
                kept.insert(id, all);
            }
            // Segments merged away since are dropped; an older generation keeps the cache's.
            if newest {
                *records = kept;
            }
        }
        let relations = Arc::new(Relations::build(segments, today));
        if newest {
            *current = Some((generation, today, relations.clone()));
        }
        Ok(relations)
    }
}

/// The records of every document of a segment, deleted ones included.
fn read_segment(reader: &SegmentReader, fields: &Fields) -> Result<Vec<Arc<Record>>, IndexError> {
    let store = reader
        .get_store_reader(1)
        .map_err(|e| IndexError::Tantivy(e.into()))?;
    (0..reader.max_doc())
        .map(|doc| {
            let stored: TantivyDocument = store.get(doc)?;
            let json = stored
                .get_first(fields.document)
                .and_then(|v| v.as_str())
                .ok_or_else(|| IndexError::Corrupt("no document field".into()))?;
            let record: Record =
                serde_json::from_str(json).map_err(|e| IndexError::Corrupt(e.to_string()))?;
            Ok(Arc::new(record))
        })
        .collect()
}

/// The address's segment id (for looking a hit up).
pub fn segment_of(searcher: &tantivy::Searcher, address: DocAddress) -> SegmentId {
    searcher.segment_reader(address.segment_ord).segment_id()
}
