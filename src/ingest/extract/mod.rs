//! Metadata from a document's repaired text, read the way GB/T 9704 lays a 公文 out:
//!
//! ```text
//! 版头   masthead (发文机关标志: "…文件", "…（通知）"), document number (发文字号)
//! 主体   [issuers on their own lines] title (标题, ends with its 文种) · recipients (主送) ·
//!        body · signature (署名) and date (成文日期) · attachments
//! 版记   主题词 · 抄送 · print line (印发机关, 印发日期, 共印N份)
//! ```
//!
//! Every value is returned in simplified characters. A number that appears in the body, not in
//! the masthead, is a citation, never the document's own number. Markdown exports with a
//! `# title`, dated header lines and `<!-- INFO END -->` are read by [`markdown`].

mod citations;
mod dates;
mod events;
mod labels;
pub mod markdown;
pub mod numbers;

use crate::ingest::split;
use crate::lang::vocab;
use crate::lang::{fold, lexicon};
use crate::model::{Citation, DocNumber, Event, IsoDate};

pub use dates::find_dates;

/// The metadata of one document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    pub title: Option<String>,
    pub issuers: Vec<String>,
    pub issuer_aliases: Vec<String>,
    pub doc_number: Option<DocNumber>,
    pub date: Option<IsoDate>,
    pub print_date: Option<IsoDate>,
    pub copies: Option<u32>,
    pub doc_type: Option<String>,
    pub subject_words: Vec<String>,
    pub recipients: Vec<String>,
    pub cc: Vec<String>,
    pub cited_doc_numbers: Vec<String>,
    pub citations: Vec<Citation>,
    pub repeals: Vec<Citation>,
    pub events: Vec<Event>,
    pub valid_until: Option<IsoDate>,
}

/// A non-blank line of the simplified text, trimmed.
struct Line<'a> {
    simp: &'a str,
}

/// The lines of `simplified`, with the breaks that printing or copying lost around the head
/// and the signature put back (see [`lost_break`]).
fn lines_of(simplified: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    for line in simplified.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut rest = line;
        while let Some(at) = lost_break(rest) {
            out.push(Line {
                simp: rest[..at].trim(),
            });
            rest = rest[at..].trim();
        }
        out.push(Line { simp: rest });
    }
    out
}

/// Where a line holds two layout lines whose break was lost, by the shape of each part:
/// a masthead `…文件` before more text; a document number at the start of a longer line;
/// a title ending in its type before an adoption note `（2011年……通过）`, `第一章`/`第一条`
/// or the recipients; a standalone date before 主题词, 抄送, a print line or a title; running
/// text ending in `。` before a signature (`organ date`).
fn lost_break(line: &str) -> Option<usize> {
    // Lines under six characters hold one layout line.
    line.chars().nth(5)?;
    // A masthead, a number or a date starts within a title's length: only that much of a
    // long body line is searched for them.
    let start = &line[..line
        .char_indices()
        .nth(MAX_TITLE_CHARS)
        .map_or(line.len(), |(i, _)| i)];
    if let Some(pos) = start.find("文件")
        && pos > 0
        && pos + "文件".len() < line.len()
        && org_line(&line[..pos]).is_some()
    {
        return Some(pos + "文件".len());
    }
    if let Some((range, _)) = numbers::find_all(start).into_iter().next()
        && range.start == 0
        && range.end < line.len()
        && (title_shaped(&line[range.end..]) || title_piece(&line[range.end..]))
    {
        return Some(range.end);
    }
    let followers = ["（", "(", "第一章", "第一条", "第一节", "各"];
    for (pos, _) in line.char_indices().skip(4).take(MAX_TITLE_CHARS) {
        let (head, tail) = line.split_at(pos);
        // The end of a title, or of the last line of a wrapped one (which may close a 《
        // opened on the line before, never open one).
        let titled = vocab::doc_type_of(head).is_some()
            && vocab::strip_trailing_qualifier(head) == head
            && head.matches('《').count() <= head.matches('》').count()
            && !head.contains(['。', '，', '；']);
        if !titled {
            continue;
        }
        let note = adoption_note(tail) && !find_dates(tail).is_empty();
        let structure = followers[2..5].iter().any(|f| tail.starts_with(f));
        let recipients = tail.starts_with(followers[5])
            && tail.ends_with(['：', ':'])
            && tail.chars().count() <= 40;
        if note || structure || recipients {
            return Some(pos);
        }
    }
    if let Some(date) = find_dates(start).into_iter().next()
        && date.end < line.len()
        && standalone_date(&line[..date.end]).is_some()
    {
        let tail = &line[date.end..];
        let next = tail.starts_with("主题词")
            || tail.starts_with("抄送")
            || (!tail.starts_with("印发")
                && print_line(std::slice::from_ref(&Line { simp: tail })).is_some())
            || title_shaped(tail);
        if next {
            return Some(date.end);
        }
    }
    if let Some(stop) = line.rfind('。')
        && stop + '。'.len_utf8() < line.len()
    {
        let tail = &line[stop + '。'.len_utf8()..];
        if standalone_date(tail).is_some_and(|(orgs, _)| !orgs.is_empty())
            || org_line(tail).is_some()
        {
            return Some(stop + '。'.len_utf8());
        }
    }
    None
}

/// The most characters a title line holds.
const MAX_TITLE_CHARS: usize = 80;

/// A line that can be a whole title: it ends with a document type, holds no sentence and
/// closes its brackets.
fn title_shaped(text: &str) -> bool {
    vocab::doc_type_of(text).is_some()
        && !text.contains(['。', '；', '！', '？'])
        && !text.ends_with(['：', ':'])
        && balanced(text)
        && text.chars().count() <= MAX_TITLE_CHARS
}

/// A line that can be a piece of a title printed over several lines: short, no sentence
/// punctuation, not a title of its own.
fn title_piece(text: &str) -> bool {
    text.chars().count() <= 40
        && !text.contains(['。', '；', '！', '？', '：', ':', '，'])
        && !title_shaped(text)
}

/// Whether every 《 and （ in `text` is closed.
fn balanced(text: &str) -> bool {
    let count = |c: char| text.matches(c).count();
    count('《') == count('》') && count('（') + count('(') == count('）') + count(')')
}

/// How many lines at the top can hold the masthead, number and title.
const HEAD_LINES: usize = 12;

/// Extracts the metadata of a plain-text 公文, given in simplified characters.
pub fn extract(simplified: &str) -> Extracted {
    let lines = lines_of(simplified);
    let mut out = Extracted::default();
    let (compilation_title, lines) = match lines.split_first() {
        Some((first, rest)) if split::is_section_header(first.simp) => (
            first
                .simp
                .split_once(['：', ':'])
                .map(|(_, t)| t.trim().to_string()),
            rest,
        ),
        _ => (None, &lines[..]),
    };
    let head_len = head_length(lines);
    let number = own_number(lines, head_len);
    let number_lines = number.as_ref().map_or(0..0, |n| n.lines.clone());
    // A promulgation wrapper (a gazette notice, an order): its masthead and number stand
    // before the promulgation and its signature; the regulation's own title follows them.
    let wrapper = lines[..head_len]
        .iter()
        .position(|l| serial_masthead(l.simp).is_some())
        .or_else(|| {
            number
                .as_ref()
                .filter(|n| n.number.parts().year.is_none())
                .map(|n| n.lines.start)
        });
    let title_at = match wrapper {
        Some(w) => {
            let from = w.max(number_lines.end);
            find_title(
                lines,
                from..(from + HEAD_LINES).min(lines.len()),
                &number_lines,
            )
        }
        None => find_title(lines, 0..head_len, &number_lines),
    };
    out.doc_number = number.as_ref().map(|n| n.number.clone());
    let mut title_block = Vec::new();
    let mut masthead = Vec::new();
    match &title_at {
        Some(found) => {
            out.title = Some(found.title.clone());
            title_block.extend(found.prefix_orgs.iter().cloned());
            let first_title_line = found.lines.start;
            let mut k = first_title_line;
            while k > 0 && !number_lines.contains(&(k - 1)) && org_line(lines[k - 1].simp).is_some()
            {
                k -= 1;
            }
            let block: Vec<String> = lines[k..first_title_line]
                .iter()
                .flat_map(|l| org_line(l.simp).unwrap_or_default())
                .collect();
            title_block.splice(0..0, block);
            let masthead_end = wrapper.map_or(k, |w| w + 1).min(k);
            masthead.extend(
                lines[..masthead_end]
                    .iter()
                    .flat_map(|l| masthead_orgs(l.simp)),
            );
        }
        None => {
            out.title = wrapper
                .map(|w| wrapper_title(lines[w].simp))
                .or(compilation_title.map(|t| without_leading_organs(&t)))
                .or_else(|| lines.first().map(|l| truncate(l.simp, 60)));
            masthead.extend(lines[..head_len].iter().flat_map(|l| masthead_orgs(l.simp)));
        }
    }
    out.doc_type = out
        .title
        .as_deref()
        .and_then(vocab::doc_type_of)
        .map(str::to_string);
    let body_from = title_at.as_ref().map_or(0, |t| t.lines.end);
    let body = &lines[body_from..];
    out.recipients = recipients(body, out.title.as_deref());
    let signature_from = wrapper.map_or(body_from, |w| (w + 1).min(body_from));
    let signature = signature_and_date(&lines[signature_from..]);
    out.date = adoption_date(body).or(signature.as_ref().map(|s| s.1));
    let print = print_line(body);
    out.print_date = print.as_ref().map(|p| p.1);
    out.copies = copies(body);
    out.subject_words = subject_words(lines);
    out.cc = cc(body);
    let signed: Vec<String> = signature.map(|s| s.0).unwrap_or_default();
    let ordered: Vec<String> = number
        .as_ref()
        .map(|n| serial_organs(&n.number.parts().prefix))
        .unwrap_or_default();
    let print_orgs: Vec<String> = print.map(|p| p.0).into_iter().flatten().collect();
    let (issuers, aliases) = choose_issuers([signed, ordered, title_block, masthead, print_orgs]);
    out.issuers = issuers;
    out.issuer_aliases = aliases;
    apply_stated(&mut out, lines);
    (out.citations, out.repeals) = citations::citations(simplified, out.doc_number.as_ref());
    out.cited_doc_numbers = out
        .citations
        .iter()
        .filter(|c| c.kind == crate::model::CitationKind::Number)
        .map(|c| c.text.clone())
        .collect();
    out.events = adoption_events(body);
    out.valid_until = citations::valid_until(simplified, out.date);
    out
}

/// Values the page states outright (a portal's metadata table) replace inferred ones; the
/// inferred issuers stay as aliases.
fn apply_stated(out: &mut Extracted, lines: &[Line]) {
    let simp: Vec<&str> = lines.iter().map(|l| l.simp).collect();
    let stated = labels::stated(&simp);
    if let Some(title) = stated.title {
        out.doc_type = vocab::doc_type_of(&title)
            .map(str::to_string)
            .or(out.doc_type.take());
        out.title = Some(title);
    }
    if !stated.issuers.is_empty() {
        let inferred = std::mem::replace(&mut out.issuers, stated.issuers);
        out.issuer_aliases.extend(inferred);
        let issuers = out.issuers.clone();
        out.issuer_aliases.retain(|a| !issuers.contains(a));
        out.issuer_aliases = dedup(std::mem::take(&mut out.issuer_aliases));
    }
    if stated.doc_number.is_some() {
        out.doc_number = stated.doc_number;
    }
    out.date = stated.date.or(out.date);
    out.print_date = stated.print_date.or(out.print_date);
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// Lines before the first line of running text (a sentence with a full stop, or a long line).
fn head_length(lines: &[Line]) -> usize {
    lines
        .iter()
        .take(HEAD_LINES)
        .position(|l| l.simp.contains('。') || l.simp.chars().count() > 80)
        .unwrap_or(lines.len().min(HEAD_LINES))
}

/// The document's own number, and the lines it is printed on.
struct OwnNumber {
    number: DocNumber,
    lines: std::ops::Range<usize>,
}

/// The document's own number: on a head line of its own (or nearly), or — for orders and
/// gazettes — the serial `第N号` on the line under the masthead that names the form
/// (`中华人民共和国国务院令` / `第588号`).
fn own_number(lines: &[Line], head_len: usize) -> Option<OwnNumber> {
    (0..head_len).find_map(|i| {
        let simp = lines[i].simp;
        if serial_masthead(simp).is_some()
            && let Some(next) = lines.get(i + 1)
            && is_serial_line(next.simp)
        {
            let joined = format!("{simp}{}", next.simp);
            if let Some((_, number)) = numbers::find_all(&joined).into_iter().next() {
                return Some(OwnNumber {
                    number,
                    lines: i..i + 2,
                });
            }
        }
        let (range, number) = numbers::find_all(simp).into_iter().next()?;
        let rest = simp.chars().count() - simp[range].chars().count();
        (rest <= 20 && !simp.contains('。')).then_some(OwnNumber {
            number,
            lines: i..i + 1,
        })
    })
}

/// `第588号`, `（第十二号）` alone on a line.
fn is_serial_line(simp: &str) -> bool {
    let inner = simp
        .trim_start_matches(['（', '('])
        .trim_end_matches(['）', ')']);
    inner.starts_with('第')
        && inner.ends_with('号')
        && inner.chars().count() <= 10
        && inner["第".len()..inner.len() - "号".len()]
            .chars()
            .all(|c| fold::ascii_digit(c).is_some() || vocab::NUMERALS.contains(c))
}

/// Forms that wrap a promulgation: the organ prints the regulation through them.
const WRAPPER_FORMS: [&str; 3] = ["公告", "通告", "令"];

/// A masthead naming only an organ (or two) and a wrapper form: `……常务委员会公告`,
/// `中华人民共和国国务院令`, `……国务院、……中央军事委员会令`, `主席令`. Returns the organ part.
fn serial_masthead(simp: &str) -> Option<&str> {
    let simp = simp.trim();
    let form = WRAPPER_FORMS.iter().find(|f| simp.ends_with(**f))?;
    let organ = &simp[..simp.len() - form.len()];
    let organ_like = organ
        .split(['、', ' ', '\u{3000}'])
        .filter(|p| !p.is_empty())
        .all(|p| vocab::is_org_name(&without_term(p)) || p.ends_with("主席"));
    (!organ.is_empty() && organ_like).then_some(organ)
}

/// The title of a wrapper that promulgates nothing else: the masthead without its number.
fn wrapper_title(simp: &str) -> String {
    match numbers::find_all(simp).into_iter().next() {
        Some((range, number)) if range.start == 0 => number.parts().prefix,
        _ => simp.to_string(),
    }
}

/// `上海市第十三届人民代表大会常务委员会` → `上海市人民代表大会常务委员会`: an organ without the
/// term of office its masthead names.
fn without_term(name: &str) -> String {
    if let Some(jie) = name.find('届')
        && let Some(di) = name[..jie].rfind('第')
        && name[di + '第'.len_utf8()..jie]
            .chars()
            .all(|c| vocab::NUMERALS.contains(c) || c.is_ascii_digit())
    {
        return format!("{}{}", &name[..di], &name[jie + '届'.len_utf8()..]);
    }
    name.to_string()
}

/// The organs an order or a gazette number names: `中华人民共和国国务院、中华人民共和国中央军事
/// 委员会令` → [中华人民共和国国务院, 中华人民共和国中央军事委员会].
fn serial_organs(prefix: &str) -> Vec<String> {
    let Some(organ) = WRAPPER_FORMS.iter().find_map(|f| prefix.strip_suffix(f)) else {
        return Vec::new();
    };
    organ
        .split('、')
        .map(without_term)
        .filter(|o| vocab::is_org_name(o))
        .collect()
}

/// A `第N篇：` header used as the title: organs printed before the title (joint issuers
/// separated by spaces, or one glued before 关于) are issuers, not part of it.
fn without_leading_organs(header: &str) -> String {
    let mut rest = header.trim();
    while let Some((first, after)) = rest.split_once([' ', '\u{3000}'])
        && vocab::is_org_name(first)
    {
        rest = after.trim();
    }
    split_title_prefix(rest, false).0
}

/// Where the title is and what it says.
struct FoundTitle {
    title: String,
    /// The lines it spans.
    lines: std::ops::Range<usize>,
    /// Issuers printed at the start of the title line (`浦东新区人民政府关于…`, `…办公室印发《`).
    prefix_orgs: Vec<String>,
}

/// The title in `lines[window]`: the first line shaped as a whole title, or two or three
/// short lines that join into one (a title printed wrapped), skipping the number, organ,
/// date, masthead and table lines.
fn find_title(
    lines: &[Line],
    window: std::ops::Range<usize>,
    number_lines: &std::ops::Range<usize>,
) -> Option<FoundTitle> {
    let layout_line = |i: usize| -> bool {
        let simp = lines[i].simp;
        number_lines.contains(&i)
            || labels::is_labelled(simp)
            || simp.ends_with("文件")
            || org_line(simp).is_some()
            || is_date_line(simp)
            || serial_masthead(simp).is_some()
    };
    let whole = |i: usize| !layout_line(i) && title_shaped(lines[i].simp);
    // A piece of a wrapped title; the first may be a lone organ, when the line under it
    // goes on with 关于 (an organ above a title that begins with its own organ is a block of
    // joint issuers instead).
    let piece = |i: usize| !layout_line(i) && title_piece(lines[i].simp);
    let first_piece = |i: usize| {
        piece(i)
            || (org_line(lines[i].simp).is_some_and(|orgs| orgs.len() == 1)
                && !number_lines.contains(&i)
                && lines.get(i + 1).is_some_and(|l| l.simp.starts_with("关于"))
                && (i == 0 || org_line(lines[i - 1].simp).is_none()))
    };
    for i in window.clone() {
        if whole(i) {
            return Some(title_from(lines, i..i + 1));
        }
        if !first_piece(i) {
            continue;
        }
        for last in i + 1..(i + 3).min(window.end) {
            if layout_line(last) {
                break;
            }
            let joined: String = lines[i..=last].iter().map(|l| l.simp).collect();
            if vocab::doc_type_of(lines[last].simp).is_some() && title_shaped(&joined) {
                return Some(title_from(lines, i..last + 1));
            }
            if !piece(last) {
                break;
            }
        }
    }
    None
}

fn title_from(lines: &[Line], range: std::ops::Range<usize>) -> FoundTitle {
    let joined: String = lines[range.clone()].iter().map(|l| l.simp).collect();
    // Under a block of organ lines (joint issuers printed one per line), an organ glued
    // before 关于 is the last of the block; otherwise a title that begins with its organ is
    // printed that way and stays whole.
    let under_block = range.start > 0 && org_line(lines[range.start - 1].simp).is_some();
    let (title, prefix_orgs) = split_title_prefix(&joined, !under_block);
    FoundTitle {
        title,
        lines: range,
        prefix_orgs,
    }
}

/// The organs a title begins with (`浦东新区人民政府关于…`, `…办公室印发《…》的通知`), and the
/// title: whole when `keep` (as GB/T 9704 prints it), else from 关于 on.
fn split_title_prefix(title: &str, keep: bool) -> (String, Vec<String>) {
    let title = title.trim().to_string();
    let outside_quotes = |pos: usize| {
        let before = &title[..pos];
        before.matches('《').count() == before.matches('》').count()
    };
    for verb in ["关于", "印发", "转发", "批转"] {
        if let Some(pos) = title.find(verb).filter(|&p| p > 0 && outside_quotes(p))
            && let Some(orgs) = org_line(title[..pos].trim())
        {
            let kept = if keep || verb != "关于" {
                title.clone()
            } else {
                title[pos..].to_string()
            };
            return (kept, orgs);
        }
    }
    (title, Vec::new())
}

/// The organisations of a line made only of organisation names separated by spaces.
fn org_line(simp: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = simp
        .split([' ', '\u{3000}'])
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    (!parts.is_empty() && parts.iter().all(|p| vocab::is_org_name(p))).then_some(parts)
}

/// Organisations in a masthead line: `…文件`, `…（通知）`, or several run together
/// (`…办公室通知）（…办公室`).
fn masthead_orgs(simp: &str) -> Vec<String> {
    simp.split(['（', '）', '(', ')', ' ', '\u{3000}'])
        .map(|part| {
            let part = part.trim().trim_end_matches("文件");
            vocab::without_doc_type(part).unwrap_or(part)
        })
        .filter(|part| vocab::is_org_name(part))
        .map(str::to_string)
        .collect()
}

fn is_date_line(simp: &str) -> bool {
    standalone_date(simp).is_some()
}

/// `[ORG ORG ]DATE` filling a whole line (brackets around it allowed): the organisations and
/// the date.
fn standalone_date(simp: &str) -> Option<(Vec<String>, IsoDate)> {
    let trimmed = simp
        .trim()
        .trim_start_matches(['（', '('])
        .trim_end_matches(['）', ')'])
        .trim();
    let found = find_dates(trimmed);
    let last = found.last()?;
    if last.end != trimmed.len() || trimmed.contains("印发") {
        return None;
    }
    let before = trimmed[..last.start].trim();
    if before.is_empty() {
        return Some((Vec::new(), last.date));
    }
    org_line(before).map(|orgs| (orgs, last.date))
}

/// The signature and 成文日期: the first line after the title that is a date on its own or
/// after the signing organisations; organisations on the line before count too.
fn signature_and_date(body: &[Line]) -> Option<(Vec<String>, IsoDate)> {
    body.iter().enumerate().find_map(|(i, line)| {
        if line.simp.starts_with("抄送") || line.simp.starts_with("主题词") {
            return None;
        }
        let (orgs, date) = standalone_date(line.simp)?;
        if !orgs.is_empty() {
            return Some((orgs, date));
        }
        // Joint signatures print one organ per line above the date.
        let first = (i.saturating_sub(SIGNATURE_LINES)..i)
            .rev()
            .take_while(|&j| org_line(body[j].simp).is_some())
            .last()
            .unwrap_or(i);
        let above: Vec<String> = body[first..i]
            .iter()
            .flat_map(|l| org_line(l.simp).unwrap_or_default())
            .collect();
        Some((above, date))
    })
}

/// The most organ lines a joint signature stacks above its date.
const SIGNATURE_LINES: usize = 4;

/// An adoption note: a bracketed line recording events (`（2011年11月17日……会议通过）`).
fn adoption_note(text: &str) -> bool {
    text.starts_with(['（', '(']) && events::EVENT_WORDS.iter().any(|w| text.contains(w))
}

/// The events of an adoption note under the title (`（2011年11月17日……会议通过）`, or several,
/// `……通过 根据……修正`), oldest first.
fn adoption_events(body: &[Line]) -> Vec<Event> {
    body.iter()
        .take(2)
        .find(|line| adoption_note(line.simp))
        .map(|line| events::events_of_note(line.simp))
        .unwrap_or_default()
}

/// The date of an adoption note: its latest event's.
fn adoption_date(body: &[Line]) -> Option<IsoDate> {
    adoption_events(body).last().map(|e| e.date)
}

/// The print line (版记): `印发机关 日期印发`, possibly after the 抄送 list on the same line.
fn print_line(body: &[Line]) -> Option<(Option<String>, IsoDate)> {
    body.iter().rev().find_map(|line| {
        let simp = line.simp;
        let pos = simp.find("印发")?;
        let found = find_dates(&simp[..pos]);
        let date = found
            .last()
            .filter(|d| simp[d.end..pos].trim().is_empty())?;
        let before = simp[..date.start].trim_end();
        let org = before
            .rsplit([' ', '：', ':', '，', '、'])
            .next()
            .filter(|o| vocab::is_org_name(o))
            .map(str::to_string);
        Some((org, date.date))
    })
}

/// `（共印180份）`, `（印30份）`.
fn copies(body: &[Line]) -> Option<u32> {
    body.iter().rev().find_map(|line| {
        let simp = line.simp;
        simp.match_indices('印').find_map(|(start, _)| {
            let after = &simp[start + '印'.len_utf8()..];
            let digits: String = after.chars().map_while(fold::ascii_digit).collect();
            let digits_len: usize = after.chars().take(digits.len()).map(char::len_utf8).sum();
            let rest = &after[digits_len..];
            let before = simp[..start].trim_end_matches('共');
            let bracketed = before.ends_with(['（', '(']);
            (bracketed && !digits.is_empty() && rest.starts_with('份'))
                .then(|| digits.parse().ok())
                .flatten()
        })
    })
}

/// 主题词: space-separated terms; an unspaced run is split into the 2+2-character compounds
/// the 主题词表 is made of, with a trailing 文种 kept as its own term. A label alone on its
/// line (a table cell) takes the next line.
fn subject_words(lines: &[Line]) -> Vec<String> {
    let Some(at) = lines.iter().position(|l| l.simp.starts_with("主题词")) else {
        return Vec::new();
    };
    let mut rest =
        lines[at].simp["主题词".len()..].trim_start_matches([':', '：', ' ', '\u{3000}']);
    if rest.is_empty() {
        rest = lines.get(at + 1).map_or("", |l| l.simp);
    }
    let terms: Vec<String> = rest
        .split([' ', '\u{3000}', '，', '、', '；'])
        .map(|t| t.trim_matches(['△', 'Δ', '▲', '*', '＊']))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    match terms.as_slice() {
        [single] if single.chars().count() > 6 => split_unspaced_subjects(single),
        _ => terms,
    }
}

fn split_unspaced_subjects(run: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut pending: Option<String> = None;
    for token in lexicon::jieba().cut(run, false) {
        let word = token.word;
        match word.chars().count() {
            2 => match pending.take() {
                Some(first) => words.push(first + word),
                None => pending = Some(word.to_string()),
            },
            1 => match words.last_mut() {
                Some(last) if pending.is_none() => last.push_str(word),
                _ => pending.get_or_insert_with(String::new).push_str(word),
            },
            _ => {
                words.extend(pending.take());
                words.push(word.to_string());
            }
        }
    }
    words.extend(pending);
    words
}

/// Body lines that may stand between the title and the recipients.
const RECIPIENTS_WITHIN: usize = 12;

/// 主送: the first line after the title that is not its number, a date, a labelled table cell
/// or the title again, up to its colon, when what precedes the colon is a list of short names.
fn recipients(body: &[Line], title: Option<&str>) -> Vec<String> {
    let Some(line) = body.iter().take(RECIPIENTS_WITHIN).find(|l| {
        !is_date_line(l.simp)
            && own_number(std::slice::from_ref(*l), 1).is_none()
            && !labels::is_labelled(l.simp)
            && Some(l.simp) != title
    }) else {
        return Vec::new();
    };
    let Some((list, _)) = line.simp.split_once(['：', ':']) else {
        return Vec::new();
    };
    let names = split_list(list);
    let plausible = !names.is_empty()
        && !list.contains(['。', '“', '”', '《'])
        && names.iter().all(|n| (2..=30).contains(&n.chars().count()))
        && !["主题词", "抄送", "附件", "根据", "为了"]
            .iter()
            .any(|w| list.starts_with(w));
    if plausible { names } else { Vec::new() }
}

/// 抄送: the list after the colon, up to the print line that may follow on the same line.
fn cc(body: &[Line]) -> Vec<String> {
    let Some(line) = body.iter().find(|l| l.simp.starts_with("抄送")) else {
        return Vec::new();
    };
    let list = line.simp["抄送".len()..].trim_start_matches([':', '：', ' ']);
    let list = match list.rfind(' ') {
        Some(pos) if !find_dates(&list[pos..]).is_empty() => {
            let before = list[..pos].trim_end();
            match before.rfind(' ') {
                Some(org) if vocab::is_org_name(&before[org + 1..]) => &before[..org],
                _ => before,
            }
        }
        _ => list,
    };
    split_list(list.trim_end_matches(['。', '.']))
}

/// Splits a list of names at full-width commas and semicolons (not at 、, which joins the
/// parts of one name: `各社区（街道）、镇`).
fn split_list(list: &str) -> Vec<String> {
    list.split(['，', '；', ',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Issuers: the first of the sources that names any — the signature, the organs of an
/// order's or a gazette's number, the title block, the masthead, the print line — and every other
/// form as an alias. Central organs print the state's name before their own
/// (`中华人民共和国国务院`), people's congresses their term (`第十五届`): the issuer is the
/// organ's name, the printed form an alias.
fn choose_issuers(mut sources: [Vec<String>; 5]) -> (Vec<String>, Vec<String>) {
    let chosen = sources
        .iter()
        .position(|s| !s.is_empty())
        .map(|i| std::mem::take(&mut sources[i]))
        .unwrap_or_default();
    let mut long_forms = Vec::new();
    let issuers = dedup(
        chosen
            .into_iter()
            .map(|printed| {
                let name = without_term(&printed);
                let name = match name.strip_prefix(STATE_NAME) {
                    Some(organ) if vocab::is_org_name(organ) => organ.to_string(),
                    _ => name,
                };
                if name != printed {
                    long_forms.push(printed);
                }
                name
            })
            .collect(),
    );
    let aliases = dedup(
        long_forms
            .into_iter()
            .chain(sources.into_iter().flatten())
            .collect(),
    )
    .into_iter()
    .filter(|a| !issuers.contains(a))
    .collect();
    (issuers, aliases)
}

/// The name of the state, printed before the names of its central organs.
const STATE_NAME: &str = "中华人民共和国";

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTICE: &str = "中共西鄉街道工作委員會辦公室文件
西工委辦〔2008〕3號
關於印發《西鄉街道部門協作辦法（試行）》的通知
各社區黨支部和居委會，街道各單位、駐街道有關單位：經街道黨工委、辦事處同意，現將《西鄉街道部門協作辦法（試行）》印發給你們，請認真貫徹落實。
西鄉街道黨工委辦公室 西鄉街道辦事處辦公室 二〇〇八年一月十六日
西鄉街道部門協作辦法（試行）
第一條 根據區委辦《關於印發〖寶安區部門協作辦法（試行）〗的通知》（深寶辦發〔2008〕1號）精神，制定本辦法。
主題詞：行政事務 部門協作△ 辦法 通知
抄送：區包點領導，街道領導班子成員、執法隊隊長 西鄉街道黨工委辦公室 2008年1月17日印發
（印30份）";

    #[test]
    fn a_notice_with_every_part() {
        let e = extract(&fold::to_simplified(NOTICE));
        assert_eq!(
            e.title.as_deref(),
            Some("关于印发《西乡街道部门协作办法（试行）》的通知")
        );
        assert_eq!(e.doc_type.as_deref(), Some("通知"));
        assert_eq!(
            e.doc_number.map(|n| n.to_string()).as_deref(),
            Some("西工委办〔2008〕3号")
        );
        assert_eq!(e.issuers, ["西乡街道党工委办公室", "西乡街道办事处办公室"]);
        assert_eq!(e.issuer_aliases, ["中共西乡街道工作委员会办公室"]);
        assert_eq!(e.date.map(|d| d.to_string()).as_deref(), Some("2008-01-16"));
        assert_eq!(
            e.print_date.map(|d| d.to_string()).as_deref(),
            Some("2008-01-17")
        );
        assert_eq!(e.copies, Some(30));
        assert_eq!(e.subject_words, ["行政事务", "部门协作", "办法", "通知"]);
        assert_eq!(
            e.recipients,
            ["各社区党支部和居委会", "街道各单位、驻街道有关单位"]
        );
        assert_eq!(e.cc, ["区包点领导", "街道领导班子成员、执法队队长"]);
        assert_eq!(e.cited_doc_numbers, ["深宝办发〔2008〕1号"]);
    }

    #[test]
    fn issuers_before_the_title_and_in_it() {
        let e = extract(&fold::to_simplified(
            "中共浦東新區委員會\n浦東新區人民政府關於進一步服務長三角的若干意見\n浦東開發17年來，成績顯著。\n中共上海市浦東新區委員會 上海市浦東新區人民政府\n2007年7月13日",
        ));
        assert_eq!(e.title.as_deref(), Some("关于进一步服务长三角的若干意见"));
        assert_eq!(
            e.issuers,
            ["中共上海市浦东新区委员会", "上海市浦东新区人民政府"]
        );
        assert_eq!(e.issuer_aliases, ["中共浦东新区委员会", "浦东新区人民政府"]);
        assert_eq!(e.date.map(|d| d.to_string()).as_deref(), Some("2007-07-13"));
        assert_eq!(e.doc_number, None);
    }

    #[test]
    fn unspaced_subject_words_split_into_compounds() {
        let body = [Line {
            simp: "主题词： 政治纪律集中教育实施意见通知",
        }];
        assert_eq!(
            subject_words(&body),
            ["政治纪律", "集中教育", "实施意见", "通知"]
        );
    }

    fn fields(text: &str) -> Extracted {
        extract(&fold::to_simplified(text))
    }

    #[test]
    fn gazette_wrapper_is_not_the_title() {
        let e = fields(
            "北京市第十五届人民代表大会常务委员会公告\n第25号\n《北京市物业管理条例》已由北京市第十五届人民代表大会常务委员会第二十四次会议于2020年3月27日通过，现予公布，自2020年5月1日起施行。\n北京市第十五届人民代表大会常务委员会\n2020年3月27日\n北京市物业管理条例\n（2020年3月27日北京市第十五届人民代表大会常务委员会第二十四次会议通过）\n第一章 总则",
        );
        assert_eq!(e.title.as_deref(), Some("北京市物业管理条例"));
        assert_eq!(e.doc_type.as_deref(), Some("条例"));
        assert_eq!(
            e.doc_number.map(|n| n.to_string()).as_deref(),
            Some("北京市第十五届人民代表大会常务委员会公告第25号")
        );
        assert_eq!(e.issuers, ["北京市人民代表大会常务委员会"]);
        assert_eq!(e.date.map(|d| d.to_string()).as_deref(), Some("2020-03-27"));
    }

    #[test]
    fn a_gazette_that_wraps_nothing_is_its_own_title() {
        let e =
            fields("某某市人民政府通告\n第3号\n为了加强管理，现通告如下：\n一、禁止燃放烟花爆竹。");
        assert_eq!(e.title.as_deref(), Some("某某市人民政府通告"));
        assert_eq!(e.doc_type.as_deref(), Some("通告"));
    }

    #[test]
    fn an_order_numbers_on_the_line_under_its_masthead() {
        let e = fields(
            "中华人民共和国国务院令\n第588号\n《某某条例》已经2010年12月29日国务院第138次常务会议通过，现予公布，自2011年1月1日起施行。\n总理　温家宝\n二〇一一年一月八日\n某某条例\n第一条 为了……，制定本条例。",
        );
        assert_eq!(
            e.doc_number.map(|n| n.to_string()).as_deref(),
            Some("中华人民共和国国务院令第588号")
        );
        assert_eq!(e.title.as_deref(), Some("某某条例"));
        assert_eq!(e.issuers, ["国务院"]);
        assert_eq!(e.issuer_aliases, ["中华人民共和国国务院"]);
        assert_eq!(e.date.map(|d| d.to_string()).as_deref(), Some("2011-01-08"));
    }

    #[test]
    fn a_joint_order_names_both_organs() {
        let e = fields(
            "中华人民共和国国务院、中华人民共和国中央军事委员会令第150号\n《某某条例》已经国务院、中央军事委员会批准，现予公布。\n二〇二〇年一月一日\n某某条例",
        );
        assert_eq!(e.issuers, ["国务院", "中央军事委员会"]);
    }

    #[test]
    fn law_titles_qualify_and_end_in_their_type() {
        let e = fields(
            "中华人民共和国某某法\n（2000年1月1日第九届全国人民代表大会常务委员会第十次会议通过）\n第一章 总则",
        );
        assert_eq!(e.title.as_deref(), Some("中华人民共和国某某法"));
        assert_eq!(e.doc_type.as_deref(), Some("法"));
        assert_eq!(e.date.map(|d| d.to_string()).as_deref(), Some("2000-01-01"));
    }

    #[test]
    fn a_printed_title_keeps_its_organ() {
        let e = fields(
            "法释〔2011〕20号\n最高人民法院关于审理某某案件适用法律若干问题的解释\n（2011年6月20日最高人民法院审判委员会第1524次会议通过，自2011年8月1日起施行）\n为正确审理……，制定本解释。",
        );
        assert_eq!(
            e.title.as_deref(),
            Some("最高人民法院关于审理某某案件适用法律若干问题的解释")
        );
        assert_eq!(e.issuers, ["最高人民法院"]);
        assert_eq!(
            e.date.map(|d| d.to_string()).as_deref(),
            Some("2011-06-20"),
            "the adoption, not the entry into force"
        );
    }

    #[test]
    fn a_title_wrapped_over_lines_is_joined() {
        let e = fields(
            "某某市人民政府文件\n某府发〔2012〕3号\n某某市中小学校外实践教育\n促进工作实施方案\n各区人民政府：\n现将方案印发给你们。",
        );
        assert_eq!(
            e.title.as_deref(),
            Some("某某市中小学校外实践教育促进工作实施方案")
        );
        let e = fields(
            "某府发〔2012〕3号\n关于印发《某某市养犬管\n理条例》的通知各区人民政府：\n现将条例印发给你们。",
        );
        assert_eq!(
            e.title.as_deref(),
            Some("关于印发《某某市养犬管理条例》的通知")
        );
        assert_eq!(e.recipients, ["各区人民政府"]);
    }

    #[test]
    fn lost_breaks_around_the_title_are_put_back() {
        let e = fields(
            "民政部文件民政部关于印发《某某办法》的通知\n民发〔2008〕5号\n各省民政厅：\n现印发。",
        );
        assert_eq!(e.title.as_deref(), Some("民政部关于印发《某某办法》的通知"));
        assert_eq!(
            e.doc_number.map(|n| n.to_string()).as_deref(),
            Some("民发〔2008〕5号")
        );
        let e = fields(
            "某某条例（2011年1月1日某某市人民代表大会常务委员会第三次会议通过）\n第一章 总则",
        );
        assert_eq!(e.title.as_deref(), Some("某某条例"));
        assert_eq!(e.date.map(|d| d.to_string()).as_deref(), Some("2011-01-01"));
    }

    #[test]
    fn a_three_character_organ_signs() {
        let e = fields(
            "关于某某工作的通知\n各省民政厅：\n现将有关事项通知如下。\n民政部\n二ΟΟ八年八月三日\n民政部办公厅 2008年8月7日印发",
        );
        assert_eq!(e.issuers, ["民政部"]);
        assert_eq!(
            e.issuer_aliases,
            ["民政部办公厅"],
            "the printer is an alias"
        );
        assert_eq!(e.date.map(|d| d.to_string()).as_deref(), Some("2008-08-03"));
    }

    #[test]
    fn lost_breaks_around_the_signature_are_put_back() {
        let e = fields(
            "关于某某工作的通知\n各区：\n请认真贯彻执行。某某市人民政府 某某市财政局\n2010年1月5日主题词：财政 通知\n抄送：市委办公厅。",
        );
        assert_eq!(e.issuers, ["某某市人民政府", "某某市财政局"]);
        assert_eq!(e.date.map(|d| d.to_string()).as_deref(), Some("2010-01-05"));
        assert_eq!(e.subject_words, ["财政", "通知"]);
    }

    #[test]
    fn joint_signatures_on_consecutive_lines() {
        let e = fields(
            "关于某某工作的通知\n各区：\n请认真贯彻执行。\n某某市人民政府\n某某市发展和改革委员会\n二〇一〇年一月五日",
        );
        assert_eq!(e.issuers, ["某某市人民政府", "某某市发展和改革委员会"]);
    }
}
