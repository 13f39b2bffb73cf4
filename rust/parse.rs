//! Turning a listwise LLM's answer ("[3] > [1] > [2]") into a permutation,
//! and a groupwise one ("[1]: 7, [2]: 3") into one score per item
//! ([`parse_scores`]).
//!
//! The parser never fails: whatever the text, the result is a permutation of
//! `0..n`, and a report says what had to be repaired. Rules, in order:
//! 1. Only the text after the last `</think>` counts (reasoning models).
//! 2. Unicode decimal digits of other scripts (fullwidth, Arabic-Indic,
//!    Devanagari, mathematical, ...) read as ASCII digits.
//! 3. Identifiers are, by preference: bracketed numbers `[12]` (1-based);
//!    else bracketed letters `[B]` (A = first); else bare numbers (1-based);
//!    else bare capital letters A..W standing alone.
//! 4. The first occurrence of an identifier wins; repeats and identifiers
//!    outside `1..=n` are dropped (and reported); identifiers never named
//!    are appended in prompt order (a truncated answer keeps what it gave).
//!
//! Every identifier in the report is 0-based, whatever the text wrote:
//! `[1]` and `[A]` are both 0, `[0]` is -1, `[Z]` is 25.

/// The most items one answer is parsed for (a window, a group): the parsers
/// allocate per item, so larger counts are refused before any work.
pub const MAX_WINDOW: usize = 1_000_000;

/// The permutation and what was repaired to get it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// A permutation of `0..n`, best first.
    pub order: Vec<u32>,
    /// How many positions came from the text.
    pub parsed: usize,
    /// Identifiers (0-based) named again after their first occurrence.
    pub duplicates: Vec<u32>,
    /// Identifiers (0-based, like every field: `[9]` is 8, `[0]` is -1,
    /// `[Z]` is 25) outside the window.
    pub out_of_range: Vec<i64>,
    /// Identifiers (0-based) never named, appended in prompt order.
    pub missing: Vec<u32>,
    /// Whether letters (A, B, ...) rather than numbers were read; false
    /// when the text named no identifier at all.
    pub letters: bool,
}

impl Parsed {
    /// True when the text named every identifier exactly once, in range.
    pub fn is_clean(&self) -> bool {
        self.duplicates.is_empty() && self.out_of_range.is_empty() && self.missing.is_empty()
    }
}

/// Zeros of the Unicode decimal-digit blocks other than ASCII; each block is
/// ten consecutive code points.
const DIGIT_ZEROS: &[u32] = &[
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50,
    0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50,
    0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
];

/// The ASCII digit a Unicode decimal digit stands for.
fn ascii_digit(c: char) -> Option<char> {
    if c.is_ascii_digit() {
        return Some(c);
    }
    let u = c as u32;
    DIGIT_ZEROS.iter().find(|&&z| (z..z + 10).contains(&u)).map(|&z| char::from(b'0' + (u - z) as u8))
}

/// Identifiers found in the text, 0-based (`[0]` wraps to `u64::MAX`), and
/// whether they were letters.
fn tokens(text: &str) -> (Vec<u64>, bool) {
    let chars: Vec<char> = text.chars().map(|c| ascii_digit(c).unwrap_or(c)).collect();
    let number_at = |i: usize| -> (u64, usize) {
        let mut v: u64 = 0;
        let mut j = i;
        while j < chars.len() && chars[j].is_ascii_digit() {
            // saturate at i64::MAX, so that the 0-based report fits an i64
            v = v.saturating_mul(10).saturating_add(chars[j] as u64 - '0' as u64).min(i64::MAX as u64);
            j += 1;
        }
        (v, j)
    };
    let (mut bracket_nums, mut bracket_letters, mut bare_nums, mut bare_letters) = (vec![], vec![], vec![], vec![]);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '[' {
            // [ 12 ] or [B], spaces allowed inside
            let mut j = i + 1;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            if j < chars.len() && chars[j].is_ascii_digit() {
                let (v, mut k) = number_at(j);
                while k < chars.len() && chars[k] == ' ' {
                    k += 1;
                }
                if k < chars.len() && chars[k] == ']' {
                    bracket_nums.push(v);
                    i = k + 1;
                    continue;
                }
            } else if j + 1 < chars.len() && chars[j].is_ascii_uppercase() && chars[j + 1] == ']' {
                bracket_letters.push((chars[j] as u8 - b'A') as u64);
                i = j + 2;
                continue;
            }
        }
        if c.is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric()) {
            let (v, j) = number_at(i);
            if j == chars.len() || !chars[j].is_alphabetic() {
                bare_nums.push(v);
            }
            i = j;
            continue;
        }
        if c.is_ascii_uppercase()
            && c <= 'W'
            && (i == 0 || !chars[i - 1].is_alphanumeric())
            && (i + 1 == chars.len() || !chars[i + 1].is_alphanumeric())
        {
            bare_letters.push((c as u8 - b'A') as u64);
        }
        i += 1;
    }
    if !bracket_nums.is_empty() {
        (bracket_nums.into_iter().map(|v| v.wrapping_sub(1)).collect(), false)
    } else if !bracket_letters.is_empty() {
        (bracket_letters, true)
    } else if !bare_nums.is_empty() {
        (bare_nums.into_iter().map(|v| v.wrapping_sub(1)).collect(), false)
    } else {
        let letters = !bare_letters.is_empty();
        (bare_letters, letters)
    }
}

/// The text after the last `</think>` (a reasoning model's answer), or all of it.
fn after_thinking(text: &str) -> &str {
    match text.rfind("</think>") {
        Some(i) => &text[i + "</think>".len()..],
        None => text,
    }
}

/// Parse an LLM's ranking of `n` prompt items into a permutation of `0..n`.
pub fn parse_permutation(text: &str, n: usize) -> Parsed {
    let answer = after_thinking(text);
    let (ids, letters) = tokens(answer);
    let mut out = complete(ids, n);
    out.letters = letters;
    out
}

/// Complete a partial answer (0-based positions, best first) to a
/// permutation of `0..n`: the first occurrence of a position wins, repeats
/// and positions `>= n` are dropped (and reported), and positions never
/// named are appended in prompt order. The one repair rule of rankwise,
/// shared by the text parser and the planners. Out-of-range positions are
/// reported as `i64` (`u64::MAX`, a wrapped `-1`, becomes -1).
pub fn complete(ids: impl IntoIterator<Item = u64>, n: usize) -> Parsed {
    let mut seen = vec![false; n];
    let mut out = Parsed::default();
    for id in ids {
        if id < n as u64 {
            if seen[id as usize] {
                out.duplicates.push(id as u32);
            } else {
                seen[id as usize] = true;
                out.order.push(id as u32);
            }
        } else {
            out.out_of_range.push(id as i64);
        }
    }
    out.parsed = out.order.len();
    for (i, _) in seen.iter().enumerate().filter(|(_, &s)| !s) {
        out.missing.push(i as u32);
        out.order.push(i as u32);
    }
    out
}

/// One score per prompt item read from a groupwise answer, and what was repaired.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedScores {
    /// One score per item of `0..n`, prompt order; NaN where the text gave none.
    pub scores: Vec<f64>,
    /// How many items got a score from the text.
    pub parsed: usize,
    /// Identifiers (0-based) scored again after their first score (dropped).
    pub duplicates: Vec<u32>,
    /// Identifiers (0-based, `[0]` is -1) outside the window (dropped).
    pub out_of_range: Vec<i64>,
    /// Identifiers (0-based) the text gave no score.
    pub missing: Vec<u32>,
}

/// A number at `chars[i..]` (digits with an optional `.digits`, or `.digits`;
/// then an optional exponent `e-5`), its value and end; `None` when none starts there.
fn number(chars: &[char], i: usize) -> Option<(f64, usize)> {
    let digit = |k: usize| k < chars.len() && chars[k].is_ascii_digit();
    if !(digit(i) || (i < chars.len() && chars[i] == '.' && digit(i + 1))) {
        return None;
    }
    let mut j = i;
    while digit(j) {
        j += 1;
    }
    if j < chars.len() && chars[j] == '.' && digit(j + 1) {
        j += 1;
        while digit(j) {
            j += 1;
        }
    }
    // an exponent: 5e-05, 1E3
    if j < chars.len() && (chars[j] == 'e' || chars[j] == 'E') {
        let k = if j + 1 < chars.len() && (chars[j + 1] == '-' || chars[j + 1] == '+') { j + 2 } else { j + 1 };
        if digit(k) {
            j = k;
            while digit(j) {
                j += 1;
            }
        }
    }
    let text: String = chars[i..j].iter().collect();
    Some((text.parse::<f64>().unwrap_or(f64::INFINITY), j))
}

/// At most this many characters may stand between an identifier and its score.
const SCORE_GAP: usize = 24;

/// Parse a groupwise LLM answer into one score per item of `0..n`.
///
/// Rules, in order (the first two as [`parse_permutation`]'s):
/// 1. Only the text after the last `</think>` counts; inside
///    `<answer>...</answer>` when there is one.
/// 2. Unicode decimal digits of other scripts read as ASCII digits.
/// 3. An identifier is a bracketed number `[3]` or `[ 3 ]` (1-based; `"[3]"` and `"3"`
///    as JSON keys too); its score is the first number after it, before the
///    next identifier and within 24 characters (`[3]: 7`, `[3] = 0.8`,
///    `[3] score 7/10`, `"3": 7`, `[3]: 5e-05`, `[3]: .5`). A `-` (or U+2212)
///    attached to the digits makes it negative unless it joins two words or
///    numbers (`2-3`); a spaced one (`[2] - 5`) is a separator.
/// 4. Without any identifier, the numbers of the text are the scores of the
///    items in prompt order (`7, 3, 9`); numbers beyond `n` are reported
///    out of range.
/// 5. The first score of an identifier wins; repeats and identifiers outside
///    `1..=n` are dropped and reported; an item without a score is NaN and
///    reported missing; a number too large for a float counts as no score.
pub fn parse_scores(text: &str, n: usize) -> ParsedScores {
    let mut answer = after_thinking(text);
    if let Some(a) = answer.find("<answer>") {
        let rest = &answer[a + "<answer>".len()..];
        answer = match rest.find("</answer>") {
            Some(b) => &rest[..b],
            None => rest,
        };
    }
    let chars: Vec<char> =
        answer.chars().map(|c| if c == '\u{2212}' { '-' } else { ascii_digit(c).unwrap_or(c) }).collect();
    // where a score may start: a digit or ".5", not inside a word or another number
    let starts_number = |j: usize| {
        number(&chars, j).is_some()
            && (j == 0 || !(chars[j - 1].is_alphanumeric() || chars[j - 1] == '.' || chars[j - 1] == '_'))
    };
    // identifiers: (0-based id, index just after it)
    let mut idents: Vec<(u64, usize, usize)> = Vec::new(); // (id, start, end)
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let open = c == '[' || c == '"';
        if open {
            let mut j = i + 1;
            let quoted_bracket = c == '"' && j < chars.len() && chars[j] == '[';
            if quoted_bracket {
                j += 1;
            }
            let bracket = c == '[' || quoted_bracket;
            while bracket && j < chars.len() && chars[j] == ' ' {
                j += 1; // "[ 3 ]", as WordPiece and other tokenizers decode it
            }
            if let Some((_, k)) = number(&chars, j) {
                let whole = chars[j..k].iter().all(|d| d.is_ascii_digit());
                let mut e = k;
                while bracket && e < chars.len() && chars[e] == ' ' {
                    e += 1;
                }
                let closed = if c == '[' {
                    e < chars.len() && chars[e] == ']'
                } else if quoted_bracket {
                    e + 1 < chars.len() && chars[e] == ']' && chars[e + 1] == '"' && {
                        e += 1;
                        true
                    }
                } else {
                    // a JSON key: "3" followed by ':'
                    e < chars.len() && chars[e] == '"' && {
                        let mut f = e + 1;
                        while f < chars.len() && chars[f] == ' ' {
                            f += 1;
                        }
                        f < chars.len() && chars[f] == ':'
                    }
                };
                if whole && closed {
                    let digits: String = chars[j..k].iter().collect();
                    let v = digits.parse::<u64>().unwrap_or(u64::MAX).min(i64::MAX as u64);
                    idents.push((v.wrapping_sub(1), i, e + 1));
                    i = e + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    let mut out = ParsedScores { scores: vec![f64::NAN; n], ..Default::default() };
    let mut given = vec![false; n];
    let mut put = |id: u64, v: Option<f64>, out: &mut ParsedScores| {
        if id >= n as u64 {
            out.out_of_range.push(id as i64);
        } else if given[id as usize] {
            out.duplicates.push(id as u32);
        } else if let Some(v) = v.filter(|v| v.is_finite()) {
            given[id as usize] = true;
            out.scores[id as usize] = v;
        }
    };
    let signed = |at: usize, v: f64| -> f64 {
        // a '-' (or U+2212) attached to the digits is a sign, unless it joins two words or
        // numbers ("2-3"); a spaced one ("[2] - 5") is a separator
        if at > 0 && chars[at - 1] == '-' {
            let mut p = at - 1;
            while p > 0 && chars[p - 1] == ' ' {
                p -= 1;
            }
            if p == 0 || !chars[p - 1].is_alphanumeric() {
                return -v;
            }
        }
        v
    };
    if idents.is_empty() {
        let mut id = 0u64;
        let mut j = 0;
        while j < chars.len() {
            if starts_number(j) {
                let (v, e) = number(&chars, j).expect("a number starts here");
                if e == chars.len() || !chars[e].is_alphabetic() {
                    put(id, Some(signed(j, v)), &mut out);
                    id += 1;
                }
                j = e;
                continue;
            }
            j += 1;
        }
    } else {
        for (w, &(id, _, end)) in idents.iter().enumerate() {
            let stop = idents.get(w + 1).map_or(chars.len(), |x| x.1).min(end + SCORE_GAP);
            let v = (end..stop).find(|&j| starts_number(j)).and_then(|j| number(&chars, j).map(|(v, _)| signed(j, v)));
            put(id, v, &mut out);
        }
    }
    out.parsed = given.iter().filter(|&&g| g).count();
    out.missing = (0..n as u32).filter(|&i| !given[i as usize]).collect();
    out
}

/// Each call's items ordered by their scores, best first; ties keep prompt
/// order and unscored items (NaN) follow the scored ones in prompt order.
pub fn order_by_scores(scores: &[f64]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..scores.len() as u32).collect();
    let key = |i: u32| {
        let s = scores[i as usize];
        if s.is_nan() {
            f64::NEG_INFINITY
        } else {
            s
        }
    };
    // stable: equal scores (and the unscored, below every score) keep prompt order
    order.sort_by(|&a, &b| {
        let (na, nb) = (scores[a as usize].is_nan(), scores[b as usize].is_nan());
        na.cmp(&nb).then(key(b).partial_cmp(&key(a)).unwrap_or(std::cmp::Ordering::Equal))
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(text: &str, n: usize) -> Vec<u32> {
        parse_permutation(text, n).order
    }

    #[test]
    fn clean_answer() {
        let p = parse_permutation("[3] > [1] > [2]", 3);
        assert_eq!(p.order, vec![2, 0, 1]);
        assert!(p.is_clean());
        assert_eq!(p.parsed, 3);
    }

    #[test]
    fn messy_variants() {
        assert_eq!(order("3 > 1 > 2", 3), vec![2, 0, 1]);
        assert_eq!(order("The ranking is: [2] > [ 3 ] > [1].", 3), vec![1, 2, 0]);
        assert_eq!(order("[B] > [C] > [A]", 3), vec![1, 2, 0]);
        assert_eq!(order("B > C > A", 3), vec![1, 2, 0]);
        assert_eq!(order("［３］ > ［１］ > ［２］", 3), vec![2, 0, 1]); // fullwidth brackets are not '['; digits still read
        assert_eq!(order("[３] > [１] > [２]", 3), vec![2, 0, 1]);
        assert_eq!(order("[٣] > [١]", 3), vec![2, 0, 1]);
        assert_eq!(order("<think>maybe [1] > [2]</think>[2] > [1]", 2), vec![1, 0]);
    }

    #[test]
    fn repairs_are_reported() {
        let p = parse_permutation("[2] > [2] > [9] > [0] > [1]", 4);
        assert_eq!(p.order, vec![1, 0, 2, 3]);
        assert_eq!(p.duplicates, vec![1]);
        assert_eq!(p.out_of_range, vec![8, -1], "0-based, like the other fields");
        assert_eq!(p.missing, vec![2, 3]);
        assert_eq!(p.parsed, 2);
        let p = parse_permutation("[4] > [1] > [", 5); // truncated
        assert_eq!(p.order, vec![3, 0, 1, 2, 4]);
        let p = parse_permutation("", 3);
        assert_eq!(p.order, vec![0, 1, 2]);
        assert_eq!(p.parsed, 0);
        assert_eq!(parse_permutation("[1]", 0).order, Vec::<u32>::new());
    }

    #[test]
    fn one_convention_and_no_letters_without_identifiers() {
        let p = parse_permutation("[Z] > [A]", 2);
        assert_eq!((p.out_of_range.clone(), p.letters), (vec![25], true));
        let p = parse_permutation("[9] > [1]", 2);
        assert_eq!((p.out_of_range.clone(), p.letters), (vec![8], false));
        for text in ["", "no idea", "[²] > [¹]", "   "] {
            let p = parse_permutation(text, 3);
            assert!(!p.letters && p.parsed == 0, "{text:?}: {p:?}");
        }
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        let p = parse_permutation("[99999999999999999999999999] > [1]", 2);
        assert_eq!(p.order, vec![0, 1]);
        assert_eq!(p.out_of_range, vec![i64::MAX - 1]);
    }

    #[test]
    fn scores_in_their_usual_shapes() {
        let p = parse_scores("[1]: 7\n[2]: 3\n[3]: 9", 3);
        assert_eq!(p.scores, vec![7.0, 3.0, 9.0]);
        assert_eq!((p.parsed, p.missing.len()), (3, 0));
        let p = parse_scores("<think>[1] looks like 2</think><answer>[2] = 0.8, [1] = -0.25</answer>", 2);
        assert_eq!(p.scores, vec![-0.25, 0.8]);
        let p = parse_scores(r#"{"1": 6, "2": 4.5, "[3]": 10}"#, 3);
        assert_eq!(p.scores, vec![6.0, 4.5, 10.0]);
        let p = parse_scores("[1] score 7/10; [2] - 5", 2);
        assert_eq!(p.scores, vec![7.0, 5.0], "7/10 reads 7; a spaced dash is a separator");
        let p = parse_scores("Scores: 7, 3, 9", 3);
        assert_eq!(p.scores, vec![7.0, 3.0, 9.0], "no identifiers: prompt order");
        // signs, exponents and leading dots, as str() of log-probs writes them
        assert_eq!(parse_scores("-3, -1, -2", 3).scores, vec![-3.0, -1.0, -2.0]);
        assert_eq!(parse_scores("[-0.5, 0.2, -0.1]", 3).scores, vec![-0.5, 0.2, -0.1]);
        assert_eq!(parse_scores("Scores: -3, -1, -2", 3).scores, vec![-3.0, -1.0, -2.0]);
        assert_eq!(parse_scores("[1]: 5e-05, [2]: 3E-4", 2).scores, vec![5e-05, 3e-4]);
        assert_eq!(parse_scores("5e-05, 3e-04", 2).scores, vec![5e-05, 3e-04]);
        assert_eq!(parse_scores("[1]: .5 [2]: 0.4", 2).scores, vec![0.5, 0.4]);
        assert_eq!(parse_scores("[1]: \u{2212}3 [2]: -0.5e1", 2).scores, vec![-3.0, -5.0]);
        assert_eq!(parse_scores("[1] -2 [2] - 4", 2).scores, vec![-2.0, 4.0], "attached: a sign; spaced: a separator");
        assert_eq!(parse_scores("2-3 x7 1.5.2", 4).scores[..2], [2.0, 3.0], "a dash between numbers is no sign");
        let p = parse_scores("[ 1 ] : 3 [ 2 ] : 9", 2);
        assert_eq!(p.scores, vec![3.0, 9.0], "spaces inside the brackets, as tokenizers decode them");
        let p = parse_scores("[２]: ３", 2);
        assert!(p.scores[0].is_nan() && p.scores[1] == 3.0);
    }

    #[test]
    fn score_repairs_are_reported() {
        let p = parse_scores("[2]: 5 [2]: 1 [7]: 3 [0]: 1 [1]: nothing", 3);
        assert_eq!(p.scores[1], 5.0);
        assert!(p.scores[0].is_nan() && p.scores[2].is_nan());
        assert_eq!((p.duplicates.clone(), p.out_of_range.clone()), (vec![1], vec![6, -1]));
        assert_eq!((p.parsed, p.missing.clone()), (1, vec![0, 2]));
        let p = parse_scores("", 2);
        assert_eq!((p.parsed, p.missing.clone()), (0, vec![0, 1]));
        let p = parse_scores("1, 2, 3, 4", 2);
        assert_eq!((p.scores.clone(), p.out_of_range.clone()), (vec![1.0, 2.0], vec![2, 3]));
        let huge = format!("[1]: {}", "9".repeat(400));
        assert!(parse_scores(&huge, 1).scores[0].is_nan(), "too large for a float: no score");
        assert!(parse_scores("[99999999999999999999999]: 1", 1).out_of_range == vec![i64::MAX - 1]);
    }

    #[test]
    fn order_by_scores_keeps_prompt_order_for_ties_and_puts_unscored_last() {
        assert_eq!(order_by_scores(&[1.0, 3.0, 3.0, f64::NAN, 2.0]), vec![1, 2, 4, 0, 3]);
        assert_eq!(order_by_scores(&[f64::NAN, f64::NAN]), vec![0, 1]);
        assert_eq!(order_by_scores(&[-1.0, f64::NAN, -2.0]), vec![0, 2, 1]);
    }
}
