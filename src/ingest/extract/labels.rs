//! Metadata that a page states outright: the 信息公开 tables of government portals
//! (`发文机关：国务院`, `成文日期：2010年12月31日`, `发文字号：国发〔2010〕46号`), as lines of
//! text, the value on the label's line or, where a table cell was its own line, on the next.
//! Stated values win over values inferred from the layout. (主题词 lines are read wherever they
//! stand, by the layout rules.)

use super::dates::find_dates;
use crate::model::{DocNumber, IsoDate};

/// How many lines at the top may hold such a table.
const TABLE_LINES: usize = 40;

/// Labels of portal tables that carry nothing gongwen keeps.
const OTHER_LABELS: &[&str] = &[
    "索引号",
    "主题分类",
    "主题词",
    "体裁分类",
    "组配分类",
    "服务对象分类",
    "生成日期",
    "有效性",
    "公开方式",
    "公开范围",
    "公开时限",
    "信息来源",
    "来源",
    "作者",
    "字号",
    "时间",
    "日期",
    "浏览次数",
    "点击数",
    "发布机构",
    "所属机构",
    "文件编号",
    "效力状态",
];

fn label_of(line: &str) -> Option<String> {
    let (label, _) = line.split_once(['：', ':'])?;
    Some(label.chars().filter(|c| !c.is_whitespace()).collect())
}

fn is_known_label(label: &str) -> bool {
    [TITLE, ISSUER, NUMBER, DATE, PRINT_DATE, OTHER_LABELS]
        .iter()
        .any(|labels| labels.contains(&label))
}

/// Whether `line` is a cell of a portal table (`标　　题：…`, `发文字号：`).
pub fn is_labelled(line: &str) -> bool {
    label_of(line).is_some_and(|label| is_known_label(&label))
}

/// The values a page states.
#[derive(Debug, Default, PartialEq)]
pub struct Stated {
    pub title: Option<String>,
    pub issuers: Vec<String>,
    pub doc_number: Option<DocNumber>,
    pub date: Option<IsoDate>,
    pub print_date: Option<IsoDate>,
}

const TITLE: &[&str] = &["标题", "文件标题", "名称", "文件名称"];
const ISSUER: &[&str] = &[
    "发文机关",
    "发布机关",
    "发文单位",
    "制发机关",
    "颁布机关",
    "发文机构",
];
const NUMBER: &[&str] = &["发文字号", "文号", "发文号"];
const DATE: &[&str] = &["成文日期", "成文时间", "发文日期", "签发日期"];
const PRINT_DATE: &[&str] = &["发布日期", "印发日期", "公布日期", "发布时间"];

/// A date as portals write it: `2010年12月31日`, `2010-12-31`, `2010.12.31`, `2010/12/31`.
fn parse_date(value: &str) -> Option<IsoDate> {
    if let Some(found) = find_dates(value).first() {
        return Some(found.date);
    }
    let digits: Vec<u32> = value
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(3)
        .filter_map(|s| s.parse().ok())
        .collect();
    match digits.as_slice() {
        [y, m, d] if *y >= 1900 => IsoDate::new(i32::try_from(*y).ok()?, *m, *d),
        _ => None,
    }
}

/// The stated values in the first lines of `lines` (simplified, trimmed, non-blank).
pub fn stated(lines: &[&str]) -> Stated {
    let mut out = Stated::default();
    let top = &lines[..lines.len().min(TABLE_LINES)];
    for (i, line) in top.iter().enumerate() {
        // Tables pad labels to one width: `标　　题`.
        let (Some(label), Some((_, value))) = (label_of(line), line.split_once(['：', ':']))
        else {
            continue;
        };
        let label = label.as_str();
        let value = match value.trim() {
            "" => top.get(i + 1).map_or("", |next| next.trim()),
            value => value,
        };
        if value.is_empty() || value.chars().count() > 120 {
            continue;
        }
        if TITLE.contains(&label) && out.title.is_none() {
            out.title = Some(value.to_string());
        } else if ISSUER.contains(&label) && out.issuers.is_empty() {
            out.issuers = value
                .split([' ', '、', '，', ',', '；'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        } else if NUMBER.contains(&label) && out.doc_number.is_none() {
            out.doc_number = value.parse().ok();
        } else if DATE.contains(&label) && out.date.is_none() {
            out.date = parse_date(value);
        } else if PRINT_DATE.contains(&label) && out.print_date.is_none() {
            out.print_date = parse_date(value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_portal_table_same_line_or_next() {
        let lines = [
            "索引号：000014349/2010-00212",
            "发文机关：",
            "国务院",
            "标题：国务院关于加快培育和发展战略性新兴产业的决定",
            "发文字号：国发〔2010〕32号",
            "成文日期：2010年10月10日",
            "发布日期：2010-10-18",
        ];
        let s = stated(&lines);
        assert_eq!(
            s.title.as_deref(),
            Some("国务院关于加快培育和发展战略性新兴产业的决定")
        );
        assert_eq!(s.issuers, ["国务院"]);
        assert_eq!(
            s.doc_number.map(|n| n.to_string()).as_deref(),
            Some("国发〔2010〕32号")
        );
        assert_eq!(s.date.map(|d| d.to_string()).as_deref(), Some("2010-10-10"));
        assert_eq!(
            s.print_date.map(|d| d.to_string()).as_deref(),
            Some("2010-10-18")
        );
    }

    #[test]
    fn recipients_are_not_table_cells() {
        assert!(is_labelled("标　　题：关于"));
        assert!(is_labelled("索 引 号："));
        assert!(!is_labelled("各区县："));
        assert!(!is_labelled("各区县人民政府，市政府各委办局："));
    }

    #[test]
    fn ordinary_text_states_nothing() {
        let lines = [
            "关于做好工作的通知",
            "各区县：",
            "现将有关事项通知如下：",
            "一、时间：2010年。",
        ];
        assert_eq!(stated(&lines), Stated::default());
    }
}
