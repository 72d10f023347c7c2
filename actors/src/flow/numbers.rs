//! Numbers spoken with prompts (a `say` node's `number`), in English or
//! Chinese: the prompt names each language's reading needs, in order.
//!
//! English reads in groups of three with scale words, no "and"
//! ("one hundred twenty three thousand four"). Chinese reads in sections of
//! four digits with 万 and 亿, 十 alone at the very start ("十五", not
//! "一十五"), and one 零 wherever zeros stand between spoken digits
//! (10005 "一万零五", 100000500 "一亿零五百").

/// A language numbers are spoken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The largest number read as a number (longer ones are read digit
    /// by digit): 999 billion, or 9999亿9999万9999 — the same number.
    pub fn max(self) -> u64 {
        999_999_999_999
    }

    /// Every prompt this language's numbers use (shipped: `config/prompts`).
    pub fn prompts(self) -> Vec<String> {
        let nums: Vec<u64> = match self {
            Lang::En => (0..20).chain((20..100).step_by(10)).collect(),
            Lang::Zh => (0..11).collect(),
        };
        let words: &[&str] = match self {
            Lang::En => &["hundred", "thousand", "million", "billion"],
            Lang::Zh => &["100", "1000", "10000", "100000000"],
        };
        let p = self.prefix();
        nums.iter()
            .map(|n| format!("{p}{n}"))
            .chain(words.iter().map(|w| format!("{p}{w}")))
            .collect()
    }

    fn prefix(self) -> &'static str {
        match self {
            Lang::En => "en_",
            Lang::Zh => "zh_",
        }
    }
}

/// The prompts that speak `n`.
pub fn speak(n: u64, lang: Lang) -> Vec<String> {
    let p = lang.prefix();
    let mut out: Vec<String> = Vec::new();
    let mut say = |w: &str| out.push(format!("{p}{w}"));
    if n == 0 {
        say("0");
        return out;
    }
    match lang {
        Lang::En => {
            let groups = [
                (n / 1_000_000_000, Some("billion")),
                (n / 1_000_000 % 1000, Some("million")),
                (n / 1000 % 1000, Some("thousand")),
                (n % 1000, None),
            ];
            for (g, scale) in groups {
                if g == 0 {
                    continue;
                }
                if g >= 100 {
                    say(&(g / 100).to_string());
                    say("hundred");
                }
                match g % 100 {
                    0 => {}
                    r if r < 20 => say(&r.to_string()),
                    r => {
                        say(&(r / 10 * 10).to_string());
                        if r % 10 > 0 {
                            say(&(r % 10).to_string());
                        }
                    }
                }
                if let Some(s) = scale {
                    say(s);
                }
            }
        }
        Lang::Zh => {
            let sections = [
                (n / 100_000_000, Some("100000000")),
                (n / 10_000 % 10_000, Some("10000")),
                (n % 10_000, None),
            ];
            let (mut started, mut gap) = (false, false);
            for (s, unit) in sections {
                if s == 0 {
                    gap |= started;
                    continue;
                }
                if started && (gap || s < 1000) {
                    say("0");
                }
                section(s, !started, &mut say);
                if let Some(u) = unit {
                    say(u);
                }
                started = true;
                gap = false;
            }
        }
    }
    out
}

/// One four-digit Chinese section (千百十个).
fn section(s: u64, first: bool, say: &mut impl FnMut(&str)) {
    let digits = [s / 1000, s / 100 % 10, s / 10 % 10, s % 10];
    let units = [Some("1000"), Some("100"), Some("10"), None];
    let (mut any, mut zero) = (false, false);
    for (i, d) in digits.into_iter().enumerate() {
        if d == 0 {
            zero |= any;
            continue;
        }
        if zero {
            say("0");
            zero = false;
        }
        if i == 2 && d == 1 && first && !any {
            // 十五, not 一十五, at the very start.
            say("10");
        } else {
            say(&d.to_string());
            if let Some(u) = units[i] {
                say(u);
            }
        }
        any = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: u64, lang: Lang) -> String {
        speak(n, lang)
            .iter()
            .map(|p| &p[3..])
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn english_reads_groups_of_three_with_scale_words() {
        assert_eq!(words(0, Lang::En), "0");
        assert_eq!(words(7, Lang::En), "7");
        assert_eq!(words(13, Lang::En), "13");
        assert_eq!(words(40, Lang::En), "40");
        assert_eq!(words(42, Lang::En), "40 2");
        assert_eq!(words(100, Lang::En), "1 hundred");
        assert_eq!(words(123_004, Lang::En), "1 hundred 20 3 thousand 4");
        assert_eq!(words(2_000_015, Lang::En), "2 million 15");
        assert_eq!(words(1_000_000_000, Lang::En), "1 billion");
    }

    #[test]
    fn chinese_reads_sections_with_one_zero_between_spoken_digits() {
        let zh = |n| words(n, Lang::Zh);
        assert_eq!(zh(0), "0");
        assert_eq!(zh(10), "10");
        assert_eq!(zh(15), "10 5", "十五");
        assert_eq!(zh(20), "2 10", "二十");
        assert_eq!(zh(105), "1 100 0 5", "一百零五");
        assert_eq!(zh(110), "1 100 1 10", "一百一十");
        assert_eq!(zh(1001), "1 1000 0 1", "一千零一");
        assert_eq!(zh(1010), "1 1000 0 1 10", "一千零一十");
        assert_eq!(zh(10005), "1 10000 0 5", "一万零五");
        assert_eq!(zh(12345), "1 10000 2 1000 3 100 4 10 5");
        assert_eq!(zh(150000), "10 5 10000", "十五万");
        assert_eq!(zh(100000500), "1 100000000 0 5 100", "一亿零五百");
        assert_eq!(zh(100010000), "1 100000000 0 1 10000", "一亿零一万");
    }

    #[test]
    fn every_prompt_a_reading_uses_is_in_the_shipped_list() {
        for lang in [Lang::En, Lang::Zh] {
            let all = lang.prompts();
            for n in [
                0,
                9,
                10,
                19,
                99,
                101,
                1010,
                10005,
                999_999,
                100_000_500,
                lang.max(),
            ] {
                for p in speak(n, lang) {
                    assert!(all.contains(&p), "{p} for {n}");
                }
            }
        }
    }
}
