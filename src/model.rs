//! Plain data types shared by every stage: the [`Document`] the pipeline produces and the index
//! stores, and the validated values researchers type — [`IsoDate`] and [`DocNumber`].
//!
//! The JSON field names of [`Document`] are a contract: `gongwen inspect`, the index's stored
//! copy and `GET /api/documents/{id}` all return this shape (the API adds what the archive's
//! relations say of the document: its status, citation count and versions).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// One document: metadata in simplified Chinese, the repaired text in its original script, where
/// it came from, and what was repaired on the way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Document {
    /// Stable id: a hash of the source bytes and the section's position in them.
    pub id: String,
    pub title: Option<String>,
    /// 发文机关 as signed (署名), falling back to the title block.
    pub issuers: Vec<String>,
    /// Other printed forms of the issuers (title block, masthead) that an issuer filter matches.
    pub issuer_aliases: Vec<String>,
    /// 发文字号, normalised to the 〔〕 form.
    pub doc_number: Option<String>,
    pub doc_number_parts: Option<DocNumberParts>,
    /// 成文日期, ISO 8601.
    #[schema(value_type = Option<String>, example = "2010-12-31")]
    pub date: Option<IsoDate>,
    /// 印发日期, ISO 8601.
    #[schema(value_type = Option<String>, example = "2010-12-31")]
    pub print_date: Option<IsoDate>,
    /// Copies printed (`共印180份`).
    pub copies: Option<u32>,
    /// 文种: 通知, 意见, 办法, …
    pub doc_type: Option<String>,
    /// 主题词.
    pub subject_words: Vec<String>,
    /// 主送机关.
    pub recipients: Vec<String>,
    /// 抄送机关.
    pub cc: Vec<String>,
    /// Document numbers cited in the text that are not this document's own.
    pub cited_doc_numbers: Vec<String>,
    /// What the text cites — document numbers and 《titles》 — each with its sentence, in order
    /// of appearance.
    pub citations: Vec<Citation>,
    /// What the text repeals (`……同时废止`, `……予以废止`, `……不再执行`), by number or title.
    pub repeals: Vec<Citation>,
    /// The events the header records (adoption, revisions, promulgation), oldest first; the
    /// document's `date` is the latest of them.
    pub events: Vec<Event>,
    /// The last day the text says it is valid (`有效期至……`, `试行N年`), ISO 8601.
    #[schema(value_type = Option<String>, example = "2015-12-31")]
    pub valid_until: Option<IsoDate>,
    /// The repaired text, in the script it was written in.
    pub text: String,
    /// `text` converted to simplified characters.
    pub text_simplified: String,
    pub source: Source,
    pub repairs: Vec<RepairCount>,
    pub warnings: Vec<Warning>,
}

/// One thing a document cites (or repeals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Citation {
    pub kind: CitationKind,
    /// A number in the normalised 〔〕 form, or a title without its 《》, as printed.
    pub text: String,
    /// The sentence it stands in.
    pub context: String,
}

/// What a [`Citation`] names a document by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CitationKind {
    Number,
    Title,
}

/// One event of a document's history, as its header records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    #[schema(value_type = String, example = "2011-11-17")]
    pub date: IsoDate,
    /// 通过, 修正, 修订, 公布, 发布, 批准; `None` where the header's line is cut off before
    /// it.
    pub action: Option<String>,
    /// The organ that acted, where the header names one.
    pub by: Option<String>,
}

/// The parts of a normalised document number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DocNumberParts {
    pub prefix: String,
    /// Absent in the numbers of orders and gazettes, which count without a year.
    pub year: Option<i32>,
    pub seq: u32,
}

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Source {
    /// The path or name the file was imported under.
    pub path: String,
    /// SHA-256 of the original bytes: the file's key in the archive.
    pub sha256: String,
    /// The encoding the bytes were decoded with, e.g. `GBK`, `Big5`, `UTF-8`.
    pub encoding: String,
    /// How the encoding was found.
    pub encoding_source: EncodingSource,
    /// 1-based position of this document in its file (compilations hold several).
    pub section: u32,
    /// Byte range of the section in the original file, end exclusive.
    pub byte_range: [usize; 2],
    /// Character range of the section in the file's decoded text (before repair; for HTML,
    /// in the text drawn from it), end exclusive.
    pub char_range: [usize; 2],
}

/// How the encoding of a file was determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EncodingSource {
    /// A byte-order mark.
    Bom,
    /// The bytes are valid UTF-8.
    Valid,
    /// An HTML `<meta charset>` or XML declaration that the bytes agree with.
    Declared,
    /// A statistical guess.
    Guessed,
}

/// How many repairs of one kind were made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RepairCount {
    pub kind: RepairKind,
    pub count: usize,
}

/// The kinds of damage the pipeline repairs. Each is explained where it is repaired.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RepairKind {
    /// A NUL character (U+0000) removed: it carries no text.
    NulRemoved,
    /// UTF-8 text that had been decoded as GBK (`鏂囦欢`), reversed losslessly.
    Utf8AsGbkReversed,
    /// A pinyin annotation whose `(` swallowed half of a GBK character, reversed in GBK bytes.
    GbkStraddleReversed,
    /// Bytes read one out of step after a lost lead byte, re-aligned.
    GbkRealigned,
    /// A character recovered from a dropped private-use byte pair, chosen by context.
    GbkDroppedPairInferred,
    /// `區(qū)` → `區`.
    PinyinAnnotationRemoved,
    /// `浦府辦?2010?98號` → `〔2010〕`.
    DocNumberBracketRestored,
    /// `?title?` → `《title》`.
    TitleBracketRestored,
    /// Greek `Ο` or `○` in a Chinese-numeral year → `〇`.
    DateZeroNormalised,
    /// ASCII `, ; : ( )` in Chinese text → full width.
    PunctuationWidened,
    /// A space inside a word or sentence removed.
    StraySpaceRemoved,
    /// A page number inside a sentence removed.
    PageNumberRemoved,
    /// A hard line break inside a sentence joined.
    LineJoined,
}

/// Something a reader of the document should know: damage that could not be repaired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The decoder met bytes that are not valid in the encoding and replaced them.
    DecodeReplacement,
    /// The declared charset did not fit the bytes; another encoding was used.
    DeclaredEncodingIgnored,
    /// A `?` that stands for a lost character which the bytes do not determine.
    UnprovableQuestionMark,
    /// `锟斤拷`: characters already lost before the file reached us.
    UnrecoverableLoss,
    /// A repaired character was chosen among a few candidates by the words around it.
    InferredByContext,
    /// Text was re-aligned over a stretch where bytes may have been dropped undetectably.
    PossibleLoss,
    /// No title could be found.
    NoTitle,
    /// A section over the size limit of one document, cut into parts at line breaks.
    DocumentSplit,
}

impl Warning {
    pub fn new(kind: WarningKind, message: impl Into<String>) -> Self {
        Warning {
            kind,
            message: message.into(),
        }
    }
}

/// A calendar date, validated, written as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoDate {
    year: i32,
    month: u8,
    day: u8,
}

/// Why a string is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid date: expected YYYY-MM-DD")]
pub struct InvalidDate(pub String);

impl IsoDate {
    /// A date, if `year-month-day` exists in the proleptic Gregorian calendar (years 1–9999).
    pub fn new(year: i32, month: u32, day: u32) -> Option<IsoDate> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (day <= days).then_some(IsoDate {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month_day(self) -> (u32, u32) {
        (u32::from(self.month), u32::from(self.day))
    }

    /// The day before, if there is one in years 1–9999.
    pub fn previous_day(self) -> Option<IsoDate> {
        let (month, day) = self.month_day();
        if day > 1 {
            return IsoDate::new(self.year, month, day - 1);
        }
        let (year, month) = if month == 1 {
            (self.year - 1, 12)
        } else {
            (self.year, month - 1)
        };
        (28..=31)
            .rev()
            .find_map(|last| IsoDate::new(year, month, last))
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's civil_from_days), if in years
    /// 1–9999.
    pub fn from_days_since_epoch(days: i64) -> Option<IsoDate> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        IsoDate::new(
            i32::try_from(year).ok()?,
            u32::try_from(month).ok()?,
            u32::try_from(day).ok()?,
        )
    }

    /// Today, by the system clock (UTC).
    pub fn today() -> IsoDate {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        IsoDate::from_days_since_epoch(i64::try_from(secs / 86_400).unwrap_or(0)).unwrap_or(
            IsoDate {
                year: 1970,
                month: 1,
                day: 1,
            },
        )
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl fmt::Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for IsoDate {
    type Err = InvalidDate;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidDate(s.to_string());
        let mut parts = s.trim().splitn(3, '-');
        let mut next = || -> Result<u32, InvalidDate> {
            let p = parts.next().ok_or_else(invalid)?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            p.parse().map_err(|_| invalid())
        };
        let (y, m, d) = (next()?, next()?, next()?);
        IsoDate::new(i32::try_from(y).map_err(|_| invalid())?, m, d).ok_or_else(invalid)
    }
}

impl Serialize for IsoDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A document number (发文字号) such as `浦府办〔2010〕98号`, however it was typed: any bracket
/// pair (〔〕 [] () （） 【】 ［］ 〖〗 ﹝﹞, or the `?` left where a bracket was lost), traditional
/// or simplified, with or without 第 before the serial. Orders and gazettes number without a
/// year: `中华人民共和国国务院令第588号`, `北京市人民代表大会常务委员会公告第12号` (the serial
/// kept in digits, however it was printed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocNumber {
    prefix: String,
    year: Option<i32>,
    seq: u32,
}

impl DocNumber {
    /// A number from its parts: the prefix (机关代字, in simplified characters), the year
    /// and the serial. Finding numbers in text is extraction's work.
    pub fn new(prefix: String, year: i32, seq: u32) -> DocNumber {
        DocNumber {
            prefix,
            year: Some(year),
            seq,
        }
    }

    /// The number of an order or a gazette: the issuing organ and the form (`…令`,
    /// `…公告`), then the serial.
    pub fn serial(prefix: String, seq: u32) -> DocNumber {
        DocNumber {
            prefix,
            year: None,
            seq,
        }
    }

    pub fn parts(&self) -> DocNumberParts {
        DocNumberParts {
            prefix: self.prefix.clone(),
            year: self.year,
            seq: self.seq,
        }
    }
}

/// Why a string is not a document number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a document number: expected a prefix, a four-digit year in brackets and a serial, e.g. 浦府办〔2010〕98号, or an order or gazette number such as 国务院令第588号"
)]
pub struct InvalidDocNumber(pub String);

impl fmt::Display for DocNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.year {
            Some(year) => write!(f, "{}〔{year}〕{}号", self.prefix, self.seq),
            None => write!(f, "{}第{}号", self.prefix, self.seq),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_validate_and_round_trip() {
        assert_eq!(
            "2010-12-31".parse::<IsoDate>().unwrap().to_string(),
            "2010-12-31"
        );
        assert!("2010-02-29".parse::<IsoDate>().is_err());
        assert!("2008-02-29".parse::<IsoDate>().is_ok());
        assert!("2010-13-01".parse::<IsoDate>().is_err());
        assert!("20101231".parse::<IsoDate>().is_err());
        assert!("2010-1x-01".parse::<IsoDate>().is_err());
        assert_eq!(IsoDate::new(2000, 3, 1).unwrap().days_since_epoch(), 11_017);
        assert_eq!(IsoDate::new(1969, 12, 31).unwrap().days_since_epoch(), -1);
        assert_eq!(IsoDate::new(1970, 1, 2).unwrap().days_since_epoch(), 1);
        let before = |y, m, d| {
            IsoDate::new(y, m, d)
                .unwrap()
                .previous_day()
                .map(|d| d.to_string())
        };
        assert_eq!(before(2008, 3, 1).as_deref(), Some("2008-02-29"));
        assert_eq!(before(2010, 1, 1).as_deref(), Some("2009-12-31"));
        assert_eq!(before(2010, 5, 17).as_deref(), Some("2010-05-16"));
        assert_eq!(before(1, 1, 1), None);
        for days in [-719_162, -1, 0, 11_017, 20_000, 2_932_896] {
            let date = IsoDate::from_days_since_epoch(days).unwrap();
            assert_eq!(date.days_since_epoch(), days, "{date}");
        }
        assert_eq!(IsoDate::from_days_since_epoch(2_932_897), None);
    }
}
