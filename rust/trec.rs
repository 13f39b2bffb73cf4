//! Runs and qrels held in Rust: TREC text formats in and out, and the
//! containers that evaluation and fusion work on without touching Python.

use crate::error::{Error, Result};
use rustc_hash::FxHashMap;

crate::names! {
    /// How the documents of each query are ordered in a [`Run`].
    pub enum Order("order") {
        /// trec_eval's order: score descending, ties by doc id descending.
        /// Like trec_eval (which stores scores as C floats), scores are compared
        /// at single precision: two scores equal as f32 are a tie.
        Score = "score",
        /// The rank column ascending (for runs whose score column is not
        /// meaningful), ties by position in the file.
        Rank = "rank",
        /// As given.
        Given = "given",
}
}

/// Ranked documents for many queries: query `q` owns entries
/// `offsets[q]..offsets[q+1]`, best first. Doc ids are stored back to back
/// in one buffer (no allocation per document).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub qids: Vec<String>,
    pub offsets: Vec<usize>,
    pub scores: Vec<f64>,
    doc_buf: String,
    /// Doc `k` is `doc_buf[doc_bounds[k]..doc_bounds[k+1]]`.
    doc_bounds: Vec<usize>,
    /// Lines of the parsed text with more than six columns (trec_eval
    /// ignores the extra ones, and so does [`Run::parse`]); 0 otherwise.
    pub extra_column_lines: usize,
}

impl Default for Run {
    fn default() -> Self {
        Run {
            qids: Vec::new(),
            offsets: vec![0],
            scores: Vec::new(),
            doc_buf: String::new(),
            doc_bounds: vec![0],
            extra_column_lines: 0,
        }
    }
}

/// The doc ids of one query, best first.
#[derive(Debug, Clone, Copy)]
pub struct Docs<'a> {
    buf: &'a str,
    bounds: &'a [usize],
}

impl<'a> Docs<'a> {
    pub fn len(&self) -> usize {
        self.bounds.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, i: usize) -> &'a str {
        &self.buf[self.bounds[i]..self.bounds[i + 1]]
    }
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let (buf, bounds) = (self.buf, self.bounds);
        bounds.windows(2).map(move |w| &buf[w[0]..w[1]])
    }
}

/// One query's ranking while a run is assembled.
#[derive(Debug, Clone, Default)]
pub struct QueryRanking<'a> {
    pub docids: Vec<&'a str>,
    pub scores: Vec<f64>,
    pub ranks: Vec<i64>,
    /// Where each entry came from, for error messages ("line 12").
    pub origin: Vec<usize>,
}

impl Run {
    pub fn len(&self) -> usize {
        self.qids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.qids.is_empty()
    }

    /// Number of (query, document) entries.
    pub fn n_entries(&self) -> usize {
        self.scores.len()
    }

    /// Query `q`: (doc ids, scores), best first.
    pub fn query(&self, q: usize) -> (Docs<'_>, &[f64]) {
        let r = self.offsets[q]..self.offsets[q + 1];
        (Docs { buf: &self.doc_buf, bounds: &self.doc_bounds[r.start..=r.end] }, &self.scores[r])
    }

    /// Append one query, documents already in order.
    pub fn push_query<'d>(&mut self, qid: &str, docs: impl IntoIterator<Item = &'d str>, scores: &[f64]) {
        for d in docs {
            self.doc_buf.push_str(d);
            self.doc_bounds.push(self.doc_buf.len());
        }
        self.scores.extend_from_slice(scores);
        debug_assert_eq!(self.scores.len() + 1, self.doc_bounds.len());
        self.qids.push(qid.to_string());
        self.offsets.push(self.scores.len());
    }

    /// Assemble from per-query rankings (in first-appearance order), ordering
    /// each by `order` and rejecting a doc id repeated within a query and a
    /// score that is not finite (NaN, or an infinity that no normalisation
    /// or TREC file can hold). `what(origin)` names an entry's source in
    /// error messages.
    pub fn from_queries(
        queries: Vec<(String, QueryRanking<'_>)>,
        order: Order,
        what: &dyn Fn(usize) -> String,
    ) -> Result<Run> {
        let mut run = Run::default();
        let mut seen: FxHashMap<&str, usize> = FxHashMap::default();
        for (qid, q) in queries {
            let mut idx: Vec<usize> = (0..q.docids.len()).collect();
            match order {
                Order::Score => idx.sort_unstable_by(|&a, &b| {
                    (q.scores[b] as f32)
                        .partial_cmp(&(q.scores[a] as f32))
                        .unwrap_or(std::cmp::Ordering::Equal)
                        .then_with(|| q.docids[b].cmp(q.docids[a]))
                }),
                Order::Rank => idx.sort_by_key(|&a| q.ranks[a]),
                Order::Given => {}
            }
            if let Some(k) = q.scores.iter().position(|x| !x.is_finite()) {
                return Err(Error::invalid(
                    "run",
                    format!(
                        "query {qid:?}, document {:?} ({}): score {} is not a finite number",
                        q.docids[k],
                        what(q.origin[k]),
                        q.scores[k]
                    ),
                ));
            }
            seen.clear();
            seen.reserve(q.docids.len());
            for (k, &d) in q.docids.iter().enumerate() {
                if let Some(first) = seen.insert(d, k) {
                    return Err(Error::invalid(
                        "run",
                        format!(
                            "query {qid:?} lists document {d:?} twice ({} and {})",
                            what(q.origin[first]),
                            what(q.origin[k])
                        ),
                    ));
                }
            }
            let scores: Vec<f64> = idx.iter().map(|&k| q.scores[k]).collect();
            run.push_query(&qid, idx.iter().map(|&k| q.docids[k]), &scores);
        }
        Ok(run)
    }

    /// Parse a TREC run: `qid Q0 docid rank score tag` per line, as
    /// trec_eval reads it: blank lines and comment lines (first non-blank
    /// character `#`) are skipped, columns after the sixth are ignored
    /// (counted in `extra_column_lines`), scores must be finite.
    pub fn parse(text: &str, source: &str, order: Order) -> Result<Run> {
        let mut index: FxHashMap<&str, usize> = FxHashMap::default();
        let mut queries: Vec<(String, QueryRanking)> = Vec::new();
        let mut extra_column_lines = 0;
        for row in columns(text, source, "run", "qid Q0 docid rank score tag", true) {
            let (lineno, cols) = row?;
            extra_column_lines += usize::from(cols.len() > 6);
            let rank: i64 = cols[3].parse().map_err(|_| {
                Error::invalid("run", format!("{source}, line {lineno}: rank {:?} is not an integer", cols[3]))
            })?;
            let score: f64 = cols[4].parse().map_err(|_| {
                Error::invalid("run", format!("{source}, line {lineno}: score {:?} is not a number", cols[4]))
            })?;
            if !score.is_finite() {
                return Err(Error::invalid(
                    "run",
                    format!("{source}, line {lineno}: score {:?} is not a finite number", cols[4]),
                ));
            }
            let q = *index.entry(cols[0]).or_insert_with(|| {
                queries.push((cols[0].to_string(), QueryRanking::default()));
                queries.len() - 1
            });
            let qr = &mut queries[q].1;
            qr.docids.push(cols[2]);
            qr.scores.push(score);
            qr.ranks.push(rank);
            qr.origin.push(lineno);
        }
        if queries.is_empty() {
            return Err(Error::invalid("run", format!("{source}: no run lines (empty file)")));
        }
        let mut run = Run::from_queries(queries, order, &|l| format!("{source}, line {l}"))?;
        run.extra_column_lines = extra_column_lines;
        Ok(run)
    }

    /// The run in TREC format, ranks from 1, with `tag` in the last column.
    /// Whatever [`Run::parse`] would refuse or misread is an error rather
    /// than a file that cannot be read back: ids that are empty or contain
    /// white space, a query id starting with `#` (a comment line), a score
    /// that is not finite.
    pub fn to_trec(&self, tag: &str) -> Result<String> {
        use std::fmt::Write;
        let column = |what: &str, v: &str| -> Result<()> {
            if v.is_empty() || v.chars().any(is_trec_blank) {
                return Err(Error::invalid(
                    what,
                    format!("{v:?} cannot be written to a TREC file (empty, or contains white space)"),
                ));
            }
            if what == "qid" && v.starts_with('#') {
                return Err(Error::invalid(
                    what,
                    format!("{v:?} cannot be written to a TREC file (a line starting with '#' is a comment)"),
                ));
            }
            if what == "qid" && v.starts_with('\u{feff}') {
                return Err(Error::invalid(
                    what,
                    format!("{v:?} cannot be written to a TREC file (a leading byte-order mark is dropped on reading)"),
                ));
            }
            Ok(())
        };
        column("tag", tag)?;
        let mut out = String::with_capacity(self.n_entries() * 40);
        for q in 0..self.len() {
            column("qid", &self.qids[q])?;
            let (docs, scores) = self.query(q);
            for (r, (d, s)) in docs.iter().zip(scores).enumerate() {
                column("docid", d)?;
                if !s.is_finite() {
                    return Err(Error::invalid(
                        "run",
                        format!("query {:?}, document {d:?}: score {s} cannot be written (not finite)", self.qids[q]),
                    ));
                }
                let _ = writeln!(out, "{} Q0 {} {} {} {}", self.qids[q], d, r + 1, fmt_score(*s), tag);
            }
        }
        Ok(out)
    }
}

/// The lines of a whitespace-separated TREC file that hold data, each split
/// into columns, with 1-based line numbers. Like trec_eval: a leading UTF-8
/// byte-order mark is dropped, blank lines and comment lines (first
/// non-blank character `#`; a `#` inside an id is data) are skipped. A line
/// with fewer columns than `layout` names, or more when `extra_ok` is false,
/// is an error naming `source` and the line.
fn columns<'a>(
    text: &'a str,
    source: &'a str,
    arg: &'a str,
    layout: &'a str,
    extra_ok: bool,
) -> impl Iterator<Item = Result<(usize, Vec<&'a str>)>> + 'a {
    let want = layout.split_whitespace().count();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().enumerate().filter(|(_, line)| !is_blank_or_comment(line)).map(move |(i, line)| {
        let cols: Vec<&str> = line.split(is_trec_blank).filter(|c| !c.is_empty()).collect();
        if cols.len() < want || (cols.len() > want && !extra_ok) {
            let expected = if extra_ok { format!("at least {want}") } else { want.to_string() };
            return Err(Error::invalid(
                arg,
                format!("{source}, line {}: expected {expected} columns ({layout}), found {}", i + 1, cols.len()),
            ));
        }
        Ok((i + 1, cols))
    })
}

/// Whether a line of a TREC file holds no data (blank, or a `#` comment).
fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start_matches(is_trec_blank);
    t.is_empty() || t.starts_with('#')
}

/// The characters that separate TREC columns: C's `isspace` in trec_eval
/// (space, tab, line feed, vertical tab, form feed, carriage return). Other
/// Unicode white space (U+00A0, U+0085, U+2028, ...) is part of an id, as
/// trec_eval reads it; the writer refuses exactly these characters in ids.
fn is_trec_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Shortest text that parses back to the same f64.
fn fmt_score(s: f64) -> String {
    format!("{s:?}")
}

/// Relevance judgments: per query, doc id -> integer grade.
#[derive(Debug, Clone, Default)]
pub struct Qrels {
    pub qids: Vec<String>,
    pub judgments: Vec<FxHashMap<String, i32>>,
    index: FxHashMap<String, usize>,
}

impl Qrels {
    pub fn len(&self) -> usize {
        self.qids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.qids.is_empty()
    }

    pub fn position(&self, qid: &str) -> Option<usize> {
        self.index.get(qid).copied()
    }

    /// Add one judgment; a second judgment of the same (query, document) is
    /// an error naming both origins.
    pub fn insert(&mut self, qid: &str, docid: &str, grade: i32, origin: &dyn Fn() -> String) -> Result<()> {
        let q = match self.index.get(qid) {
            Some(&q) => q,
            None => {
                self.qids.push(qid.to_string());
                self.judgments.push(FxHashMap::default());
                self.index.insert(qid.to_string(), self.qids.len() - 1);
                self.qids.len() - 1
            }
        };
        if self.judgments[q].insert(docid.to_string(), grade).is_some() {
            return Err(Error::invalid(
                "qrels",
                format!("{}: query {qid:?} judges document {docid:?} more than once", origin()),
            ));
        }
        Ok(())
    }

    /// Parse TREC qrels: `qid iteration docid grade` per line; blank lines
    /// and `#` comment lines are skipped, as trec_eval does.
    pub fn parse(text: &str, source: &str) -> Result<Qrels> {
        let mut qrels = Qrels::default();
        for row in columns(text, source, "qrels", "qid iteration docid grade", false) {
            let (lineno, cols) = row?;
            let grade: i32 = cols[3].parse().map_err(|_| {
                Error::invalid("qrels", format!("{source}, line {lineno}: grade {:?} is not an integer", cols[3]))
            })?;
            qrels.insert(cols[0], cols[2], grade, &|| format!("{source}, line {lineno}"))?;
        }
        if qrels.is_empty() {
            return Err(Error::invalid("qrels", format!("{source}: no judgments (empty file)")));
        }
        Ok(qrels)
    }
}

/// Runs and qrels from per-query lists (the Python `Run(...)` and
/// `Qrels(...)` constructors): the value checks, once, here.
impl Run {
    /// Query `q` ranks `docids[q]` (best first) with `scores[q]`: the
    /// lists agree in length, no score is NaN and no query comes twice; the
    /// run is then ordered by `order`.
    pub fn from_lists(qids: Vec<String>, docids: &[Vec<String>], scores: Vec<Vec<f64>>, order: Order) -> Result<Run> {
        if qids.len() != docids.len() || qids.len() != scores.len() {
            return Err(Error::invalid("run", "qids, docids and scores differ in length"));
        }
        let mut queries = Vec::with_capacity(qids.len());
        let mut seen = rustc_hash::FxHashSet::default();
        for ((qid, d), s) in qids.into_iter().zip(docids).zip(scores) {
            if s.len() != d.len() {
                return Err(Error::invalid(
                    "run",
                    format!("query {qid:?}: {} doc ids but {} scores", d.len(), s.len()),
                ));
            }
            if let Some(k) = s.iter().position(|x| x.is_nan()) {
                return Err(Error::invalid("run", format!("query {qid:?}: score of {:?} is NaN", d[k])));
            }
            if !seen.insert(qid.clone()) {
                return Err(Error::invalid("run", format!("query {qid:?} appears more than once")));
            }
            let n = d.len();
            let ranking = QueryRanking {
                docids: d.iter().map(String::as_str).collect(),
                scores: s,
                ranks: (1..=n as i64).collect(),
                origin: (0..n).collect(),
            };
            queries.push((qid, ranking));
        }
        Run::from_queries(queries, order, &|k| format!("position {k}"))
    }
}

impl Qrels {
    /// Query `q` judges `docids[q]` with `grades[q]` (lists of equal length).
    pub fn from_lists(qids: &[String], docids: &[Vec<String>], grades: &[Vec<i32>]) -> Result<Qrels> {
        if qids.len() != docids.len() || qids.len() != grades.len() {
            return Err(Error::invalid("qrels", "qids, docids and grades differ in length"));
        }
        let mut q = Qrels::default();
        for ((qid, d), g) in qids.iter().zip(docids).zip(grades) {
            if d.len() != g.len() {
                return Err(Error::invalid(
                    "qrels",
                    format!("query {qid:?}: {} doc ids but {} grades", d.len(), g.len()),
                ));
            }
            for (doc, &grade) in d.iter().zip(g) {
                q.insert(qid, doc, grade, &|| "qrels".to_string())?;
            }
        }
        Ok(q)
    }
}

#[cfg(test)]
mod from_lists_tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn runs_from_lists_check_their_values() {
        let r = Run::from_lists(strings(&["a"]), &[strings(&["x", "y"])], vec![vec![1.0, 2.0]], Order::Score).unwrap();
        assert_eq!(r.query(0).0.iter().collect::<Vec<_>>(), ["y", "x"]);
        let given = Run::from_lists(strings(&["a"]), &[strings(&["x", "y"])], vec![vec![1.0, 2.0]], Order::Given);
        assert_eq!(given.unwrap().query(0).0.iter().collect::<Vec<_>>(), ["x", "y"]);
        let e = |q: &[&str], d: &[Vec<String>], s: Vec<Vec<f64>>| {
            Run::from_lists(strings(q), d, s, Order::Given).unwrap_err().to_string()
        };
        assert!(e(&["a", "b"], &[strings(&["x"])], vec![vec![1.0]]).contains("differ in length"));
        assert!(e(&["a"], &[strings(&["x"])], vec![vec![1.0, 2.0]]).contains("1 doc ids but 2 scores"));
        assert!(e(&["a"], &[strings(&["x"])], vec![vec![f64::NAN]]).contains("\"x\" is NaN"));
        assert!(
            e(&["a", "a"], &[strings(&["x"]), strings(&["y"])], vec![vec![1.0], vec![1.0]]).contains("more than once")
        );
    }

    #[test]
    fn qrels_from_lists_check_their_values() {
        let q = Qrels::from_lists(&strings(&["a"]), &[strings(&["x", "y"])], &[vec![1, 0]]).unwrap();
        assert_eq!(q.len(), 1);
        assert!(Qrels::from_lists(&strings(&["a"]), &[strings(&["x"])], &[vec![1, 2]]).is_err());
        assert!(Qrels::from_lists(&strings(&["a", "b"]), &[strings(&["x"])], &[vec![1]]).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_orders_like_trec_eval() {
        let text = "1 Q0 a 1 2.0 t\n1 Q0 b 2 3.0 t\n2 Q0 x 1 1 t\n1 Q0 c 3 3.0 t\n";
        let run = Run::parse(text, "run.trec", Order::Score).unwrap();
        assert_eq!(run.qids, vec!["1", "2"]);
        // score desc, ties by doc id desc
        assert_eq!(run.query(0).0.iter().collect::<Vec<_>>(), ["c", "b", "a"]);
        let run = Run::parse(text, "run.trec", Order::Rank).unwrap();
        assert_eq!(run.query(0).0.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
        let back = Run::parse(&run.to_trec("x").unwrap(), "again", Order::Given).unwrap();
        assert_eq!(back, run);
        let mut bad = Run::default();
        bad.push_query("1", ["a b"], &[1.0]);
        assert!(bad.to_trec("x").unwrap_err().to_string().contains("white space"));
    }

    #[test]
    fn scores_equal_in_single_precision_tie_like_trec_eval() {
        // 1.0 and 1.0 + 1e-12 are one f32: the tie goes to the larger doc id
        let run = Run::parse("1 Q0 a 1 1.000000000001 t\n1 Q0 b 2 1.0 t\n", "r", Order::Score).unwrap();
        assert_eq!(run.query(0).0.iter().collect::<Vec<_>>(), ["b", "a"]);
    }

    #[test]
    fn run_errors_name_file_and_line() {
        let e = Run::parse("1 Q0 a 1 2.0\n", "r.trec", Order::Score).unwrap_err().to_string();
        assert!(e.contains("r.trec, line 1") && e.contains("at least 6 columns"), "{e}");
        let e = Run::parse("1 Q0 a 1 x t\n", "r.trec", Order::Score).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("not a number"), "{e}");
        let e = Run::parse("1 Q0 a 1 1 t\n\n1 Q0 a 2 0 t\n", "r.trec", Order::Score).unwrap_err().to_string();
        assert!(e.contains("twice") && e.contains("line 1") && e.contains("line 3"), "{e}");
        assert!(Run::parse("\n\n", "r.trec", Order::Score).unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn comments_and_extra_columns_as_trec_eval_reads_them() {
        // trec_eval's test/qrels.test.with-comments and test/results.trunc, in small
        let q = Qrels::parse("# comment here\n301 0 a 0\n  # indented\n301 0 CR#93E-1860 1\n", "q").unwrap();
        assert_eq!(q.judgments[0].len(), 2);
        assert_eq!(q.judgments[0]["CR#93E-1860"], 1);
        let text = "\u{feff}# a run\n301\tQ0\ta\t1\t 2.5\tSTANDARD more junk at\n301 Q0 b 2 1.5 STANDARD\n";
        let run = Run::parse(text, "r", Order::Score).unwrap();
        assert_eq!(run.query(0).0.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!((run.qids[0].as_str(), run.extra_column_lines), ("301", 1));
        let e = Qrels::parse("1 0 a 1 extra\n", "q").unwrap_err().to_string();
        assert!(e.contains("expected 4 columns"), "{e}");
        let e = Run::parse("1 Q0 a 1 2\n", "r", Order::Score).unwrap_err().to_string();
        assert!(e.contains("at least 6 columns"), "{e}");
    }

    #[test]
    fn columns_split_at_ascii_blanks_only_like_trec_eval() {
        for sep in ["\u{a0}", "\u{85}", "\u{2028}", "\u{3000}"] {
            let text = format!("q1 Q0 d{sep}1 1 2.5 bm25\nq1\x0bQ0\x0cd2\r2 1.5 bm25\n");
            let run = Run::parse(&text, "r", Order::Rank).unwrap();
            assert_eq!(run.query(0).0.iter().collect::<Vec<_>>(), [format!("d{sep}1").as_str(), "d2"]);
            assert_eq!(run.extra_column_lines, 0);
            let back = Run::parse(&run.to_trec("t").unwrap(), "again", Order::Given).unwrap();
            assert_eq!(back, run, "what the reader reads, the writer writes back");
        }
        let mut bad = Run::default();
        bad.push_query("1", ["a\x0bb"], &[1.0]);
        assert!(bad.to_trec("t").is_err());
    }

    #[test]
    fn non_finite_scores_are_refused_by_reader_and_writer() {
        for s in ["inf", "-inf", "nan", "1e999", "Infinity"] {
            let e = Run::parse(&format!("1 Q0 a 1 {s} t\n"), "r", Order::Score).unwrap_err().to_string();
            assert!(e.contains("not a finite number"), "{s}: {e}");
        }
        let q = QueryRanking { docids: vec!["a"], scores: vec![f64::INFINITY], ranks: vec![1], origin: vec![0] };
        let e = Run::from_queries(vec![("1".into(), q)], Order::Given, &|k| format!("position {k}")).unwrap_err();
        assert!(e.to_string().contains("not a finite number"), "{e}");
        let mut bad = Run::default();
        bad.push_query("1", ["a"], &[f64::INFINITY]);
        assert!(bad.to_trec("t").unwrap_err().to_string().contains("not finite"));
        let mut hash = Run::default();
        hash.push_query("#1", ["a"], &[1.0]);
        assert!(hash.to_trec("t").unwrap_err().to_string().contains("comment"));
        let mut bom = Run::default();
        bom.push_query("\u{feff}1", ["a"], &[1.0]);
        assert!(bom.to_trec("t").unwrap_err().to_string().contains("byte-order mark"));
    }

    #[test]
    fn qrels_parse_and_errors() {
        let q = Qrels::parse("1 0 a 2\n1 0 b 0\n2 0 a 1\n", "q.txt").unwrap();
        assert_eq!(q.qids, vec!["1", "2"]);
        assert_eq!(q.judgments[0]["a"], 2);
        let e = Qrels::parse("1 0 a two\n", "q.txt").unwrap_err().to_string();
        assert!(e.contains("q.txt, line 1") && e.contains("not an integer"), "{e}");
        let e = Qrels::parse("1 0 a 1\n1 0 a 2\n", "q.txt").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("more than once"), "{e}");
        let e = Qrels::parse("1 0 a\n", "q.txt").unwrap_err().to_string();
        assert!(e.contains("4 columns"), "{e}");
    }
}
