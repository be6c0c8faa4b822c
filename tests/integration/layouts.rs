//! The layout test set: each sample regulation printed the way official documents print it
//! (GB/T 9704 mastheads, gazette wrappers, orders, judicial interpretations, joint signatures,
//! wrapped titles, print lines), some with line breaks lost, then damaged the way the seed is
//! (the forward damage of `damage.rs`) and ingested. Every field is checked against what was
//! rendered: the truth is the rendering, never the pipeline's output.

use gongwen::ingest::Pipeline;
use gongwen::lang::fold;

use crate::damage::{annotations, damage, similar_positions, width_folded};
use crate::support::samples_dir;

/// What the renderer printed, field by field.
struct Expect {
    title: String,
    doc_type: &'static str,
    number: Option<String>,
    date: String,
    /// `None` where the layout names no issuing organ (a law under a 主席令).
    issuers: Option<Vec<String>>,
}

struct Rendered {
    name: String,
    layout: &'static str,
    lines: Vec<String>,
    /// Lines whose break to the next line may be lost in printing or copying.
    glue_points: Vec<usize>,
    expect: Expect,
}

struct Sample {
    id: String,
    title: String,
    date: (i32, u32, u32),
    region: &'static str,
    body: Vec<String>,
}

/// A small deterministic generator: the same set on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const DIGITS: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
/// Zeros as printed or typed in years: the proper 〇, the circle ○, a Greek capital omicron,
/// a Latin O, 零.
const ZEROS: [char; 5] = ['〇', '○', 'Ο', 'O', '零'];

fn cn_small(n: u32) -> String {
    let d = |k: u32| DIGITS[k as usize];
    match n {
        0..=9 => d(n).to_string(),
        10 => "十".to_string(),
        11..=19 => format!("十{}", d(n - 10)),
        _ if n.is_multiple_of(10) => format!("{}十", d(n / 10)),
        _ => format!("{}十{}", d(n / 10), d(n % 10)),
    }
}

fn cn_date((y, m, d): (i32, u32, u32), zero: char) -> String {
    let year: String = y
        .to_string()
        .chars()
        .map(|c| match c {
            '0' => zero,
            c => DIGITS[c.to_digit(10).unwrap_or(0) as usize],
        })
        .collect();
    format!("{year}年{}月{}日", cn_small(m), cn_small(d))
}

fn arabic_date((y, m, d): (i32, u32, u32)) -> String {
    format!("{y}年{m}月{d}日")
}

fn iso((y, m, d): (i32, u32, u32)) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

/// The type a title ends with, by the regulation forms and 公文 types these layouts print
/// (a bracketed qualifier looked past; 实施细则 kept as its own type, as the README says).
fn type_of(title: &str) -> &'static str {
    let core = title.trim_end_matches("（试行）");
    [
        "实施细则",
        "解释",
        "条例",
        "规定",
        "办法",
        "决定",
        "规则",
        "细则",
        "守则",
        "通知",
        "方案",
        "法",
    ]
    .into_iter()
    .find(|t| core.ends_with(t))
    .unwrap_or_else(|| panic!("no type in {title}"))
}

/// `上海市房屋管理条例` → `房屋管理`: the subject of a regulation's title.
fn subject_of(title: &str) -> String {
    let mut core = title.trim_end_matches("（试行）");
    for region in ["上海市", "北京市", "上海", "北京"] {
        core = core.strip_prefix(region).unwrap_or(core);
    }
    let core = core.strip_suffix(type_of(title)).unwrap_or(core);
    let core = core.trim_end_matches(['若', '干']);
    let short: String = core.chars().take(16).collect();
    // Never cut inside a 《》 pair.
    match short.rfind('《') {
        Some(open) if !short[open..].contains('》') => short[..open].to_string(),
        _ => short,
    }
}

const MINISTRIES: [(&str, &str); 6] = [
    ("民政部", "民发"),
    ("公安部", "公通字"),
    ("财政部", "财法"),
    ("审计署", "审法发"),
    ("商务部", "商法发"),
    ("司法部", "司发"),
];

fn load_samples(dir: &std::path::Path) -> Vec<Sample> {
    let manifest = std::fs::read_to_string(dir.join("manifest.jsonl")).expect("manifest");
    manifest
        .lines()
        .filter_map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).ok()?;
            let file = entry["file"].as_str()?;
            let title = entry["title"].as_str()?.to_string();
            // Where the manifest has no date, one is made up from the file's number: the
            // printed date is the truth either way.
            let serial: u32 = file
                .trim_start_matches("lawref-")
                .trim_end_matches(".md")
                .parse()
                .ok()?;
            let made_up = format!(
                "{}-{}-{}",
                1990 + serial % 30,
                1 + serial % 12,
                1 + serial % 28
            );
            let date = entry["date"]
                .as_str()
                .filter(|d| !d.is_empty())
                .unwrap_or(&made_up);
            let parts: Vec<u32> = date.split('-').filter_map(|p| p.parse().ok()).collect();
            let [y, m, d] = parts[..] else { return None };
            let region = if entry["region"].as_str() == Some("北京") {
                "北京"
            } else {
                "上海"
            };
            let markdown = std::fs::read_to_string(dir.join(file)).ok()?;
            let body_text = markdown.split("<!-- INFO END -->").nth(1)?;
            let mut body = Vec::new();
            let mut chars = 0;
            // What GBK cannot print (zero-width spaces in some of the files) is not printed.
            let printable = |line: &str| -> String {
                line.chars()
                    .filter(|c| !encoding_rs::GBK.encode(&c.to_string()).2)
                    .collect()
            };
            for line in body_text
                .lines()
                .map(|l| printable(l.trim_start_matches('#').trim()))
            {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                chars += line.chars().count();
                body.push(line.to_string());
                if chars > 2500 {
                    break;
                }
            }
            Some(Sample {
                id: entry["id"].as_str()?.to_string(),
                title,
                date: (i32::try_from(y).ok()?, m, d),
                region,
                body,
            })
        })
        .collect()
}

fn later((y, m, _): (i32, u32, u32)) -> (i32, u32, u32) {
    if m < 12 { (y, m + 1, 1) } else { (y + 1, 1, 1) }
}

/// The promulgation of `title` adopted at a session of `congress`, and the adoption note
/// printed under the title.
fn adopted(
    title: &str,
    congress: &str,
    session: usize,
    date: (i32, u32, u32),
    in_force: &str,
) -> (String, String) {
    let session = cn_small(u32::try_from(session).unwrap_or(1));
    let day = arabic_date(date);
    (
        format!(
            "《{title}》已由{congress}第{session}次会议于{day}通过，现予公布，自{in_force}起施行。"
        ),
        format!("（{day}{congress}第{session}次会议通过）"),
    )
}

/// The sample printed in layout `layout`.
fn render(sample: &Sample, layout: usize, rng: &mut Rng) -> Rendered {
    let t = &sample.title;
    let date = sample.date;
    let (y, _, _) = date;
    let n = 1 + rng.below(300);
    let session = 10 + rng.below(40);
    let term = cn_small(11 + rng.below(5) as u32);
    let region = sample.region;
    let pc = format!("{region}市人民代表大会常务委员会");
    let gov = format!("{region}市人民政府");
    let zero = *rng.pick(&ZEROS);
    let in_force = arabic_date(later(date));
    let mut lines: Vec<String> = Vec::new();
    let mut glue_points = Vec::new();
    let (name, expect) = match layout {
        // A local gazette notice promulgating a regulation: the wrapper's masthead and number,
        // the promulgation, its signature, then the regulation with its adoption note.
        0 | 1 => {
            let number = if layout == 0 {
                lines.push(format!("{pc}公告"));
                lines.push(format!("第{n}号"));
                format!("{pc}公告第{n}号")
            } else {
                lines.push(format!(
                    "{region}市第{term}届人民代表大会常务委员会公告（第{n}号）"
                ));
                format!("{region}市第{term}届人民代表大会常务委员会公告第{n}号")
            };
            let congress = format!("{region}市第{term}届人民代表大会常务委员会");
            let (promulgation, note) = adopted(t, &congress, session, date, &in_force);
            lines.push(promulgation);
            lines.push(pc.clone());
            lines.push(cn_date(date, '〇'));
            glue_points.push(lines.len());
            lines.push(t.clone());
            lines.push(note);
            (
                "gazette",
                Expect {
                    title: t.clone(),
                    doc_type: type_of(t),
                    number: Some(number),
                    date: iso(date),
                    issuers: Some(vec![pc.clone()]),
                },
            )
        }
        // A State Council or ministry order, signed by its head.
        2 | 3 => {
            let (organ, head, meeting) = if layout == 2 {
                ("国务院", "总理", "国务院第{k}次常务会议")
            } else {
                let (ministry, _) = *rng.pick(&MINISTRIES);
                (ministry, "部长", "{organ}第{k}次部务会议")
            };
            let meeting = meeting
                .replace("{organ}", organ)
                .replace("{k}", &session.to_string());
            lines.push(format!("中华人民共和国{organ}令"));
            lines.push(format!("第{n}号"));
            lines.push(format!(
                "《{t}》已经{}{meeting}通过，现予公布，自{in_force}起施行。",
                arabic_date(date)
            ));
            lines.push(format!("{head}　王　某"));
            lines.push(cn_date(date, zero));
            glue_points.push(lines.len() - 1);
            lines.push(t.clone());
            (
                "order",
                Expect {
                    title: t.clone(),
                    doc_type: type_of(t),
                    number: Some(format!("中华人民共和国{organ}令第{n}号")),
                    date: iso(date),
                    issuers: Some(vec![organ.to_string()]),
                },
            )
        }
        // A joint order of two organs, or a law under a presidential order (Chinese numerals).
        4 => {
            if rng.below(2) == 0 {
                lines.push(format!(
                    "中华人民共和国国务院、中华人民共和国中央军事委员会令第{n}号"
                ));
                lines.push(format!(
                    "《{t}》已经国务院、中央军事委员会批准，现予公布，自{in_force}起施行。"
                ));
                lines.push("国务院总理　王　某　　中央军事委员会主席　李　某".to_string());
                lines.push(cn_date(date, zero));
                lines.push(t.clone());
                (
                    "joint order",
                    Expect {
                        title: t.clone(),
                        doc_type: type_of(t),
                        number: Some(format!(
                            "中华人民共和国国务院、中华人民共和国中央军事委员会令第{n}号"
                        )),
                        date: iso(date),
                        issuers: Some(vec!["国务院".to_string(), "中央军事委员会".to_string()]),
                    },
                )
            } else {
                let law = format!("中华人民共和国{}法", subject_of(t));
                lines.push("中华人民共和国主席令".to_string());
                lines.push(format!(
                    "第{}号",
                    cn_small(u32::try_from(n % 99 + 1).unwrap_or(1))
                ));
                let congress = format!("第{term}届全国人民代表大会常务委员会");
                let (promulgation, note) = adopted(&law, &congress, session, date, &in_force);
                lines.push(promulgation);
                lines.push("中华人民共和国主席　王　某".to_string());
                lines.push(cn_date(date, zero));
                glue_points.push(lines.len());
                lines.push(law.clone());
                lines.push(note);
                (
                    "presidential order",
                    Expect {
                        title: law,
                        doc_type: "法",
                        number: Some(format!("中华人民共和国主席令第{}号", n % 99 + 1)),
                        date: iso(date),
                        issuers: None,
                    },
                )
            }
        }
        // A judicial interpretation: its 法释 number, a title that begins with the court
        // (wrapped or not), the adoption note.
        5 => {
            let title = format!(
                "最高人民法院关于审理{}纠纷案件适用法律若干问题的解释",
                subject_of(t)
            );
            lines.push(format!("法释〔{y}〕{n}号"));
            glue_points.push(lines.len() - 1);
            if rng.below(2) == 0 {
                lines.push(title.clone());
            } else {
                let cut = title.find("适用").unwrap_or(title.len() / 2);
                lines.push(title[..cut].to_string());
                lines.push(title[cut..].to_string());
            }
            glue_points.push(lines.len() - 1);
            lines.push(format!(
                "（{}最高人民法院审判委员会第{}次会议通过，自{in_force}起施行）",
                arabic_date(date),
                1000 + session
            ));
            lines.push(format!(
                "为正确审理{}纠纷案件，根据《中华人民共和国民法典》等法律的规定，结合审判实践，制定本解释。",
                subject_of(t)
            ));
            (
                "interpretation",
                Expect {
                    title,
                    doc_type: "解释",
                    number: Some(format!("法释〔{y}〕{n}号")),
                    date: iso(date),
                    issuers: Some(vec!["最高人民法院".to_string()]),
                },
            )
        }
        // A ministry's notice: masthead, number, a title that begins with the ministry, the
        // three-character organ signing, a year with look-alike zeros; subject words, cc and
        // the print line of the office after the attached regulation.
        6 => {
            let (ministry, abbr) = *rng.pick(&MINISTRIES);
            let title = format!("{ministry}关于印发《{t}》的通知");
            lines.push(format!("{ministry}文件"));
            lines.push(format!("{abbr}〔{y}〕{n}号"));
            glue_points.push(lines.len());
            lines.push(title.clone());
            glue_points.push(lines.len() - 1);
            lines.push("各省、自治区、直辖市有关部门：".to_string());
            glue_points.push(lines.len());
            lines.push(format!("现将《{t}》印发给你们，请遵照执行。"));
            lines.push(ministry.to_string());
            lines.push(cn_date(date, zero));
            lines.push(t.clone());
            (
                "ministry notice",
                Expect {
                    title,
                    doc_type: "通知",
                    number: Some(format!("{abbr}〔{y}〕{n}号")),
                    date: iso(date),
                    issuers: Some(vec![ministry.to_string()]),
                },
            )
        }
        // A joint local notice: a title wrapped over two or three short lines, two organs
        // signing on one line or on consecutive lines.
        _ => {
            let second = format!("{region}市发展和改革委员会");
            let title = if rng.below(2) == 0 {
                format!("关于印发《{t}》的通知")
            } else {
                format!("{region}市{}工作实施方案", subject_of(t))
            };
            lines.push(format!("{gov}文件"));
            lines.push(format!("沪府发〔{y}〕{n}号"));
            let chars: Vec<char> = title.chars().collect();
            let parts = if chars.len() > 24 { 3 } else { 2 };
            let step = chars.len().div_ceil(parts);
            for chunk in chars.chunks(step) {
                lines.push(chunk.iter().collect());
            }
            glue_points.push(lines.len() - 1);
            lines.push("各区人民政府，市政府各委、办、局：".to_string());
            lines.push(format!("现将《{t}》印发给你们，请认真贯彻执行。"));
            glue_points.push(lines.len() - 1);
            if rng.below(2) == 0 {
                lines.push(format!("{gov}　{second}"));
            } else {
                lines.push(gov.clone());
                lines.push(second.clone());
            }
            lines.push(cn_date(date, zero));
            glue_points.push(lines.len() - 1);
            lines.push(t.clone());
            (
                "joint notice",
                Expect {
                    doc_type: type_of(&title),
                    title,
                    number: Some(format!("沪府发〔{y}〕{n}号")),
                    date: iso(date),
                    issuers: Some(vec![gov.clone(), second]),
                },
            )
        }
    };
    lines.extend(sample.body.iter().cloned());
    if layout >= 6 {
        glue_points.push(lines.len() - 1);
        lines.push("主题词：法规 印发 通知".to_string());
        lines.push("抄送：国务院办公厅，各省人民政府。".to_string());
        let office = if layout == 6 {
            format!(
                "{}办公厅",
                expect.issuers.as_ref().map_or("", |i| i[0].as_str())
            )
        } else {
            format!("{region}市人民政府办公厅")
        };
        lines.push(format!("{office} {}印发", arabic_date(later(date))));
    }
    Rendered {
        name: format!("{}-{layout}", sample.id),
        layout: name,
        lines,
        glue_points,
        expect,
    }
}

/// The layouts every sample is printed in: two of the eight, varied over the samples.
fn layouts_of(index: usize) -> [usize; 2] {
    [index % 8, (index / 8 + index + 3) % 8]
}

fn normalise(text: &str) -> String {
    width_folded(&fold::to_simplified(text))
        .into_iter()
        .collect()
}

#[derive(Default)]
struct Score {
    right: usize,
    total: usize,
}

impl Score {
    fn add(&mut self, right: bool) {
        self.right += usize::from(right);
        self.total += 1;
    }
    fn share(&self) -> f64 {
        self.right as f64 / self.total.max(1) as f64
    }
}

#[test]
fn official_layouts_yield_every_field() {
    let Some(dir) = samples_dir("documents") else {
        return;
    };
    let samples = load_samples(&dir);
    assert_eq!(
        samples.len(),
        300,
        "every sample has a title, a date and a body"
    );
    let list = annotations();
    let pipeline = Pipeline::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let fields = ["title", "number", "date", "type", "issuers"];
    let mut scores: Vec<Score> = fields.iter().map(|_| Score::default()).collect();
    let mut by_layout: std::collections::BTreeMap<&str, Score> = Default::default();
    let mut failures: Vec<String> = Vec::new();
    let (mut body_chars, mut body_wrong) = (0, 0);
    let mut documents = 0;
    for (i, sample) in samples.iter().enumerate() {
        for layout in layouts_of(i) {
            let mut rendered = render(sample, layout, &mut rng);
            // Every third document lost one line break of its head or signature.
            if i.is_multiple_of(3) && !rendered.glue_points.is_empty() {
                let at = *rng.pick(&rendered.glue_points);
                let next = rendered.lines.remove(at + 1);
                rendered.lines[at].push_str(&next);
            }
            let text = rendered.lines.join("\n");
            let damaged = damage(&hanconv::s2t(&text), &list);
            let docs = pipeline
                .ingest_bytes(&format!("{}.txt", rendered.name), damaged.as_bytes())
                .expect("ingests");
            assert_eq!(docs.len(), 1, "{}: one document", rendered.name);
            let doc = &docs[0];
            documents += 1;
            let e = &rendered.expect;
            let title_ok = doc.title.as_deref().map(normalise) == Some(normalise(&e.title));
            let number_ok =
                doc.doc_number.as_deref().map(normalise) == e.number.as_deref().map(normalise);
            let date_ok = doc.date.map(|d| d.to_string()).as_deref() == Some(e.date.as_str());
            let type_ok = doc.doc_type.as_deref() == Some(e.doc_type);
            let issuers_ok = e.issuers.as_ref().is_none_or(|want| {
                let mut got: Vec<String> = doc.issuers.iter().map(|s| normalise(s)).collect();
                let mut want: Vec<String> = want.iter().map(|s| normalise(s)).collect();
                got.sort();
                want.sort();
                got == want
            });
            let oks = [title_ok, number_ok, date_ok, type_ok, issuers_ok];
            for (score, ok) in scores.iter_mut().zip(oks) {
                score.add(ok);
            }
            let layout_score = by_layout.entry(rendered.layout).or_default();
            for ok in oks {
                layout_score.add(ok);
            }
            if oks.contains(&false) && failures.len() < 40 {
                failures.push(format!(
                    "{} ({}): title {:?} / {:?}; number {:?} / {:?}; date {:?} / {}; type {:?} / {}; issuers {:?} / {:?}",
                    rendered.name,
                    rendered.layout,
                    doc.title,
                    e.title,
                    doc.doc_number,
                    e.number,
                    doc.date.map(|d| d.to_string()),
                    e.date,
                    doc.doc_type,
                    e.doc_type,
                    doc.issuers,
                    e.issuers
                ));
            }
            // The repair writes look-alike zeros in years as 〇: not a character wrong.
            let zeros = |chars: Vec<char>| -> Vec<char> {
                chars
                    .into_iter()
                    .map(|c| if ZEROS.contains(&c) { '〇' } else { c })
                    .collect()
            };
            let got = zeros(width_folded(&doc.text));
            let want = zeros(width_folded(&hanconv::s2t(&text)));
            body_chars += want.len();
            let wrong_here = similar_positions(&got, &want).0;
            body_wrong += wrong_here;
        }
    }
    for failure in &failures {
        println!("{failure}");
    }
    println!("layout test set: {documents} documents");
    for (field, score) in fields.iter().zip(&scores) {
        println!(
            "  {field}: {:.1}% of {}",
            100.0 * score.share(),
            score.total
        );
    }
    for (layout, score) in &by_layout {
        println!("  layout {layout}: {:.1}% of fields", 100.0 * score.share());
    }
    println!(
        "  body: {body_wrong} of {body_chars} characters wrong ({:.3}%)",
        100.0 * body_wrong as f64 / body_chars as f64
    );
    assert!(documents >= 600);
    assert!(
        body_wrong * 2000 <= body_chars,
        "more than 0.05% of body characters wrong"
    );
    for (field, score) in fields.iter().zip(&scores) {
        assert!(
            score.share() >= 0.97,
            "{field}: {:.1}% right, below 97%",
            100.0 * score.share()
        );
    }
}
