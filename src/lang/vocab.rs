//! Words of the 公文 format that several stages recognise: document types (文种), the endings
//! of organisation names, numerals, and the measure words and quantifiers around numbers.

use super::fold;
use std::sync::LazyLock;

/// Document types (文种), longest first so that a suffix match finds the most specific. Each
/// maps to the type reported: qualifiers such as 暂行 or 实施 are not types of their own,
/// except 实施细则, which is.
const DOC_TYPES: &[(&str, &str)] = &[
    ("实施细则", "实施细则"),
    ("会议纪要", "纪要"),
    ("工作总结", "总结"),
    ("工作要点", "要点"),
    ("决议", "决议"),
    ("决定", "决定"),
    ("命令", "命令"),
    ("公报", "公报"),
    ("公告", "公告"),
    ("通告", "通告"),
    ("意见", "意见"),
    ("通知", "通知"),
    ("通报", "通报"),
    ("报告", "报告"),
    ("请示", "请示"),
    ("批复", "批复"),
    ("议案", "议案"),
    ("纪要", "纪要"),
    ("条例", "条例"),
    ("规定", "规定"),
    ("办法", "办法"),
    ("细则", "细则"),
    ("规则", "规则"),
    ("守则", "守则"),
    ("章程", "章程"),
    ("准则", "准则"),
    ("规范", "规范"),
    ("规划", "规划"),
    ("计划", "计划"),
    ("方案", "方案"),
    ("要点", "要点"),
    ("总结", "总结"),
    ("纲要", "纲要"),
    ("指南", "指南"),
    ("标准", "标准"),
    ("制度", "制度"),
    ("讲话", "讲话"),
    ("预案", "预案"),
    ("修正案", "修正案"),
    ("法典", "法典"),
    ("解释", "解释"),
    ("解答", "解答"),
    ("安排", "安排"),
    ("函", "函"),
    ("令", "命令"),
    ("法", "法"),
];

/// Words ending in 法 that name a way of doing, not a law.
const NOT_LAWS: &[&str] = &[
    "方法", "做法", "看法", "说法", "想法", "用法", "手法", "写法", "技法", "算法", "疗法", "语法",
    "书法", "司法", "执法", "守法", "违法", "合法", "非法", "依法", "立法", "普法", "变法",
];

/// The characters a word of [`DOC_TYPES`] ends with, sorted.
static TYPE_LAST_CHARS: LazyLock<Vec<char>> = LazyLock::new(|| {
    let mut chars: Vec<char> = DOC_TYPES
        .iter()
        .filter_map(|(word, _)| word.chars().next_back())
        .collect();
    chars.sort_unstable();
    chars.dedup();
    chars
});

/// The document type a title (in simplified characters) ends with, looking past a trailing
/// qualifier in brackets such as （试行） or （草案）.
pub fn doc_type_of(title: &str) -> Option<&'static str> {
    let core = strip_trailing_qualifier(title.trim());
    // Most texts asked about (every prefix of every line, looking for a lost break) end in no
    // type: their last character rules them out before any word is compared.
    let last = core.chars().next_back()?;
    TYPE_LAST_CHARS.binary_search(&last).ok()?;
    DOC_TYPES
        .iter()
        .find(|(word, _)| core.ends_with(word))
        .map(|(_, doc_type)| *doc_type)
        .filter(|t| *t != "法" || !NOT_LAWS.iter().any(|w| core.ends_with(w)))
}

/// Types of texts in force until changed or repealed (regulations and their like), as
/// [`doc_type_of`] reports them: only these have versions.
const NORMATIVE: &[&str] = &[
    "法",
    "法典",
    "条例",
    "规定",
    "办法",
    "实施细则",
    "细则",
    "规则",
    "守则",
    "章程",
    "准则",
    "规范",
    "标准",
    "制度",
    "解释",
];

/// Whether texts of `doc_type` are revised in versions (条例, 办法 …), not reissued (通知).
pub fn is_normative(doc_type: &str) -> bool {
    NORMATIVE.contains(&doc_type)
}

/// Whether `text` names the document it stands in: `本` and a document type (`本办法`,
/// `本规定`, `本通知`).
pub fn names_itself(text: &str) -> bool {
    text.match_indices('本').any(|(at, _)| {
        let after = &text[at + '本'.len_utf8()..];
        DOC_TYPES.iter().any(|(word, _)| after.starts_with(word))
    })
}

/// `text` without the document type it ends with (`…办公室通知` → `…办公室`).
pub fn without_doc_type(text: &str) -> Option<&str> {
    DOC_TYPES
        .iter()
        .find_map(|(word, _)| text.strip_suffix(word))
}

/// The key titles are compared under (a citation's 《title》 and a document's own): folded,
/// without spaces, 《》 and a trailing bracketed qualifier (`（2019年修正）`, `（试行）`), so
/// the versions of one regulation share it.
pub fn title_key(title: &str) -> String {
    let bare = title.trim().trim_start_matches('《').trim_end_matches('》');
    fold::fold_for_search(strip_trailing_qualifier(bare.trim()))
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// `title` without one trailing bracketed qualifier of at most eight characters.
pub fn strip_trailing_qualifier(title: &str) -> &str {
    let Some(last) = title.chars().next_back() else {
        return title;
    };
    let open = match last {
        ')' => '(',
        '）' => '（',
        _ => return title,
    };
    match title.rfind(open) {
        Some(pos) if title[pos..].chars().count() <= 10 => title[..pos].trim_end(),
        _ => title,
    }
}

/// Endings of organisation names (simplified), longest first.
const ORG_ENDINGS: &[&str] = &[
    "人民代表大会常务委员会",
    "人民代表大会",
    "人民政府办公厅",
    "人民政府办公室",
    "人民政府",
    "常务委员会",
    "委员会办公室",
    "委员会",
    "办公厅",
    "办公室",
    "办事处",
    "党工委",
    "工作委员会",
    "领导小组",
    "人民法院",
    "人民检察院",
    "政府",
    "党委",
    "党组",
    "工委",
    "纪委",
    "总局",
    "总署",
    "中心",
    "公司",
    "集团",
    "协会",
    "学会",
    "联合会",
    "研究院",
    "工会",
    "商会",
    "研究会",
    "促进会",
    "基金会",
    "研究所",
    "事务所",
    "派出所",
    "管理所",
    "银行",
    "分行",
    "支行",
    "管理处",
    "研究室",
    "工作站",
    "管理站",
    "出版社",
    "通讯社",
    "合作社",
    "报社",
    "总队",
    "支队",
    "大队",
    "厅",
    "局",
    "部",
    "委",
    "署",
    "院",
    "办",
];

/// Single-character endings strong enough for a three-character name (国务院, 民政部,
/// 审计署, 教育厅, 统计局, 国资委, 侨办): the name of a state organ is its field plus the
/// kind of organ.
const STRONG_ENDINGS: &str = "院部委署厅局办";

/// First characters of three-character phrases that end like an organ but are not one: a
/// quantifier or demonstrative before a noun (各部门's 各部, 该局, 这个院), or an adjective
/// (大格局, 新格局's fragments).
const NOT_ORGAN_STARTS: &str = "各全本该此每其这那大新老总分下上前后内外局部";

/// Whether `name` (simplified) reads as an organisation: it holds only Han characters and
/// brackets and ends with an organisation ending; four characters or more, or three with a
/// strong ending (`国务院`). Weak endings stand only in the words organs use (委员会, 研究所,
/// 银行), so a phrase such as `真贯彻执行` is not a name.
pub fn is_org_name(name: &str) -> bool {
    let n = name.chars().count();
    let han = name
        .chars()
        .all(|c| crate::lang::fold::is_han(c) || "（）()".contains(c));
    if !han || !(3..=40).contains(&n) || !ORG_ENDINGS.iter().any(|e| name.ends_with(e)) {
        return false;
    }
    n >= 4
        || name
            .chars()
            .last()
            .is_some_and(|c| STRONG_ENDINGS.contains(c))
            && !name.starts_with(|c| NOT_ORGAN_STARTS.contains(c))
}

/// Chinese numerals as written in dates and article numbers.
pub const NUMERALS: &str = "〇零一二三四五六七八九十百千两";

/// The value of a Chinese numeral up to 9999 (`二十一` → 21, `一百零五` → 105), or of a run
/// of digit characters (`二〇一〇` → 2010).
pub fn chinese_number(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let digit = |c: char| "〇一二三四五六七八九".find(c).map(|i| (i / 3) as u32);
    let digit = |c: char| match c {
        '零' => Some(0),
        '两' => Some(2),
        c => digit(c),
    };
    if s.chars().all(|c| digit(c).is_some()) && s.chars().count() > 1 && !s.contains('十') {
        return s
            .chars()
            .try_fold(0u32, |acc, c| Some(acc * 10 + digit(c)?));
    }
    let mut total = 0;
    let mut current = 0;
    for c in s.chars() {
        match c {
            '十' | '百' | '千' => {
                let unit = match c {
                    '十' => 10,
                    '百' => 100,
                    _ => 1000,
                };
                total += current.max(1) * unit;
                current = 0;
            }
            c => current = digit(c)?,
        }
    }
    Some(total + current)
}

/// Characters that make a number before them a quantity, not a page number.
pub const UNITS: &str =
    "条款项章节篇年月日时号个人次元角分万亿份件页名家所周岁倍级届期批类种户张台辆吨米里亩平斤";
/// Characters that make the number after them a quantity or an ordinal.
pub const QUANTIFIERS: &str = "第共约近达计每余逾超为有是于至到和及或";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_word_passes_the_last_character_check() {
        for (word, doc_type) in DOC_TYPES {
            for title in [format!("关于印发{word}"), format!("某某{word}（试行）")] {
                let expected = DOC_TYPES
                    .iter()
                    .find(|(w, _)| title.trim_end_matches("（试行）").ends_with(w))
                    .map(|(_, t)| *t);
                assert_eq!(doc_type_of(&title), expected, "{title}");
                assert!(expected.is_some(), "{word} → {doc_type}");
            }
        }
        assert_eq!(doc_type_of("关于做好拥军优属工作"), None);
    }

    #[test]
    fn doc_types_from_titles() {
        for (title, expected) in [
            (
                "关于做好2011年元旦、春节期间拥军优属拥政爱民工作的通知",
                "通知",
            ),
            ("关于印发《西乡街道部门协作办法（试行）》的通知", "通知"),
            ("西乡街道部门协作办法（试行）", "办法"),
            ("2006年工作总结", "总结"),
            (
                "关于进一步服务长三角、服务长江流域、服务全国的若干意见",
                "意见",
            ),
            ("上海市村民委员会选举办法", "办法"),
            ("上海市实施《中华人民共和国义务教育法》办法", "办法"),
            ("北京市人大常委会组成人员守则", "守则"),
            ("某某条例实施细则", "实施细则"),
            ("上海市人民政府令", "命令"),
        ] {
            assert_eq!(doc_type_of(title), Some(expected), "{title}");
        }
        assert_eq!(doc_type_of("浦东开发17年来"), None);
    }

    #[test]
    fn law_and_interpretation_titles_end_in_their_type() {
        for (title, expected) in [
            ("中华人民共和国行政许可法", "法"),
            ("中华人民共和国民法典", "法典"),
            (
                "最高人民法院关于审理劳动争议案件适用法律若干问题的解释",
                "解释",
            ),
            ("中华人民共和国刑法修正案（十一）", "修正案"),
            ("关于内地与香港特别行政区相互执行仲裁裁决的安排", "安排"),
            ("北京市实施《中华人民共和国水法》办法", "办法"),
            ("某某暂行办法", "办法"),
        ] {
            assert_eq!(doc_type_of(title), Some(expected), "{title}");
        }
        assert_eq!(doc_type_of("改进工作方法"), None);
        assert_eq!(doc_type_of("严格依法"), None);
    }

    #[test]
    fn organisations() {
        assert!(is_org_name("中共浦东新区委员会办公室"));
        assert!(is_org_name("上海市浦东新区人民政府"));
        assert!(is_org_name("西乡街道党工委办公室"));
        assert!(!is_org_name("领导"));
        assert!(is_org_name("国务院"));
        assert!(is_org_name("民政部"));
        assert!(is_org_name("审计署"));
        assert!(!is_org_name("全部"));
        assert!(!is_org_name("大格局"));
        assert!(!is_org_name("真贯彻执行"));
        assert!(!is_org_name("召开大会"));
        assert!(is_org_name("上海市总工会"));
        assert!(!is_org_name("各区级机关，各人民团体"));
    }

    #[test]
    fn numbers() {
        assert_eq!(chinese_number("二〇一〇"), Some(2010));
        assert_eq!(chinese_number("十二"), Some(12));
        assert_eq!(chinese_number("三十一"), Some(31));
        assert_eq!(chinese_number("十"), Some(10));
        assert_eq!(chinese_number("一百零五"), Some(105));
        assert_eq!(chinese_number("二零零八"), Some(2008));
        assert_eq!(chinese_number("三"), Some(3));
        assert_eq!(chinese_number("x"), None);
    }
}
