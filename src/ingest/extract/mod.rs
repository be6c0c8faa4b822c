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

mod dates;
mod labels;
pub mod markdown;
pub mod numbers;

use crate::ingest::split;
use crate::lang::vocab;
use crate::lang::{fold, lexicon};
use crate::model::{DocNumber, IsoDate};

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
}

/// A non-blank line of the simplified text, trimmed.
struct Line<'a> {
    simp: &'a str,
}

/// How many lines at the top can hold the masthead, number and title.
const HEAD_LINES: usize = 12;

/// Extracts the metadata of a plain-text 公文, given in simplified characters.
pub fn extract(simplified: &str) -> Extracted {
    let lines: Vec<Line> = simplified
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|simp| Line { simp })
        .collect();
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
    let head = &lines[..head_len];
    let number_line = own_number(head).map(|(i, number)| {
        out.doc_number = Some(number);
        i
    });
    let title_at = find_title(head, number_line);
    let mut title_block = Vec::new();
    let mut masthead = Vec::new();
    match &title_at {
        Some(found) => {
            out.title = Some(found.title.clone());
            title_block.extend(found.prefix_orgs.iter().cloned());
            let first_title_line = found.lines.start;
            let mut k = first_title_line;
            while k > 0 && Some(k - 1) != number_line && org_line(head[k - 1].simp).is_some() {
                k -= 1;
            }
            let block: Vec<String> = head[k..first_title_line]
                .iter()
                .flat_map(|l| org_line(l.simp).unwrap_or_default())
                .collect();
            title_block.splice(0..0, block);
            masthead.extend(head[..k].iter().flat_map(|l| masthead_orgs(l.simp)));
        }
        None => {
            out.title = compilation_title.or_else(|| lines.first().map(|l| truncate(l.simp, 60)));
            masthead.extend(head.iter().flat_map(|l| masthead_orgs(l.simp)));
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
    let signature = signature_and_date(body);
    out.date = signature.as_ref().map(|s| s.1);
    let print = print_line(body);
    out.print_date = print.as_ref().map(|p| p.1);
    out.copies = copies(body);
    out.subject_words = subject_words(lines);
    out.cc = cc(body);
    let signed: Vec<String> = signature.map(|s| s.0).unwrap_or_default();
    let print_orgs: Vec<String> = print.map(|p| p.0).into_iter().flatten().collect();
    let (issuers, aliases) = choose_issuers(signed, title_block, masthead, print_orgs);
    out.issuers = issuers;
    out.issuer_aliases = aliases;
    apply_stated(&mut out, lines);
    out.cited_doc_numbers = cited_numbers(simplified, out.doc_number.as_ref());
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

/// The document's own number: on a line of its own (or nearly) in the head.
fn own_number(head: &[Line]) -> Option<(usize, DocNumber)> {
    head.iter().enumerate().find_map(|(i, line)| {
        let found = numbers::find_all(line.simp);
        let (range, number) = found.into_iter().next()?;
        let rest = line.simp.chars().count() - line.simp[range].chars().count();
        (rest <= 20 && !line.simp.contains('。')).then_some((i, number))
    })
}

/// Where the title is and what it says.
struct FoundTitle {
    title: String,
    /// The head lines it spans.
    lines: std::ops::Range<usize>,
    /// Issuers printed at the start of the title line (`浦东新区人民政府关于…`, `…办公室印发《`).
    prefix_orgs: Vec<String>,
}

fn find_title(head: &[Line], number_line: Option<usize>) -> Option<FoundTitle> {
    let candidate = |i: usize| -> bool {
        let simp = head[i].simp;
        Some(i) != number_line
            && !labels::is_labelled(simp)
            && !simp.ends_with("文件")
            && org_line(simp).is_none()
            && vocab::doc_type_of(simp).is_some()
            && !is_date_line(simp)
    };
    for i in 0..head.len() {
        if candidate(i) {
            return Some(title_from(head, i..i + 1));
        }
        // A title wrapped over two lines: `关于…` without its 文种, then the rest.
        let simp = head[i].simp;
        if i + 1 < head.len()
            && Some(i) != number_line
            && simp.contains("关于")
            && vocab::doc_type_of(simp).is_none()
            && candidate(i + 1)
            && head[i + 1].simp.chars().count() <= 40
        {
            return Some(title_from(head, i..i + 2));
        }
    }
    None
}

fn title_from(head: &[Line], lines: std::ops::Range<usize>) -> FoundTitle {
    let joined: String = head[lines.clone()].iter().map(|l| l.simp).collect();
    let (title, prefix_orgs) = split_title_prefix(&joined);
    FoundTitle {
        title,
        lines,
        prefix_orgs,
    }
}

/// `浦东新区人民政府关于…的意见` → (`关于…的意见`, [浦东新区人民政府]); an issuer that prints the
/// title itself (`…办公室印发《…》的通知`) stays in the title but is returned as an issuer.
fn split_title_prefix(title: &str) -> (String, Vec<String>) {
    let title = title.trim().to_string();
    let outside_quotes = |pos: usize| {
        let before = &title[..pos];
        before.matches('《').count() == before.matches('》').count()
    };
    if let Some(pos) = title.find("关于").filter(|&p| p > 0 && outside_quotes(p))
        && let Some(orgs) = org_line(title[..pos].trim())
    {
        return (title[pos..].to_string(), orgs);
    }
    for verb in ["印发", "转发", "批转"] {
        if let Some(pos) = title.find(verb).filter(|&p| p > 0 && outside_quotes(p))
            && let Some(orgs) = org_line(title[..pos].trim())
        {
            return (title, orgs);
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
        let above = i
            .checked_sub(1)
            .and_then(|j| org_line(body[j].simp))
            .unwrap_or_default();
        Some((above, date))
    })
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
            && own_number(std::slice::from_ref(*l)).is_none()
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

/// Issuers: the signature if there is one, else the title block, else the masthead, else the
/// print line; every other form becomes an alias.
fn choose_issuers(
    signed: Vec<String>,
    title_block: Vec<String>,
    masthead: Vec<String>,
    print: Vec<String>,
) -> (Vec<String>, Vec<String>) {
    let mut sources = [signed, title_block, masthead, print];
    let chosen = sources
        .iter()
        .position(|s| !s.is_empty())
        .map(|i| std::mem::take(&mut sources[i]))
        .unwrap_or_default();
    let issuers = dedup(chosen);
    let aliases = dedup(sources.into_iter().flatten().collect())
        .into_iter()
        .filter(|a| !issuers.contains(a))
        .collect();
    (issuers, aliases)
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Every document number in the text other than the document's own, in order of appearance.
fn cited_numbers(simplified: &str, own: Option<&DocNumber>) -> Vec<String> {
    dedup(
        numbers::find_all(simplified)
            .into_iter()
            .map(|(_, n)| n)
            .filter(|n| Some(n) != own)
            .map(|n| n.to_string())
            .collect(),
    )
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
}
