//! Property tests for the drafts field rules (issue 12 item 8): the word
//! splitter behind the name/id heuristics and the word-boundary matching.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use tokenwarden::core::drafts::{
    field_savable, name_words, sensitive_name, FieldFacts, SENSITIVE_PAIRS, SENSITIVE_WORDS,
};

/// Lower-case filler that cannot spell any listed word, stem or pair
/// (no vowel but `y`, none of the listed consonant clusters).
fn filler() -> impl Strategy<Value = String> {
    "[xyzqj]{1,6}"
}

fn separator() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("_".to_string()),
        Just("-".to_string()),
        Just(".".to_string()),
        Just("[".to_string()),
        Just(" ".to_string()),
        Just("__".to_string()),
    ]
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    /// Words are never empty, hold no ASCII punctuation or capitals, and are
    /// exactly the name's letters and digits in order (nothing lost, nothing
    /// added).
    #[test]
    fn words_are_the_names_alphanumerics(name in "\\PC{0,40}") {
        let words = name_words(&name);
        for w in &words {
            prop_assert!(!w.is_empty());
            prop_assert!(w.chars().all(|c| !c.is_ascii() || c.is_ascii_lowercase() || c.is_ascii_digit()), "{w:?}");
        }
        let joined: String = words.concat();
        let expected: String = name
            .chars()
            .filter(|c| !c.is_ascii() || c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        prop_assert_eq!(joined, expected);
    }

    /// Separators always split: `a_b` is the words of `a` then those of `b`.
    #[test]
    fn separators_split(a in "[a-zA-Z0-9]{0,12}", sep in separator(), b in "[a-zA-Z0-9]{0,12}") {
        let mut both = name_words(&a);
        both.extend(name_words(&b));
        prop_assert_eq!(name_words(&(a + &sep + &b)), both);
    }

    /// A listed word is found as a whole word whatever surrounds it:
    /// separators (`card_cvv`, `pin-code`) or camelCase (`userPin`).
    #[test]
    fn listed_words_match_on_boundaries(
        word in prop::sample::select(SENSITIVE_WORDS.split(' ').collect::<Vec<_>>()),
        before in filler(),
        after in filler(),
        sep in separator(),
        camel in any::<bool>(),
    ) {
        prop_assume!(word.is_ascii());
        let name = if camel && word.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
            before + &capitalise(word) + &capitalise(&after)
        } else {
            before + &sep + word + &sep + &after
        };
        prop_assert!(sensitive_name(&name), "{name}");
    }

    /// The same for the listed pairs (`card_number`, `securityCode`).
    #[test]
    fn listed_pairs_match_on_boundaries(
        (a, b) in prop::sample::select(
            SENSITIVE_PAIRS.split(',').filter_map(|p| p.split_once(' ')).collect::<Vec<_>>()
        ),
        before in filler(),
        sep in separator(),
        camel in any::<bool>(),
    ) {
        let name = if camel {
            before + &capitalise(a) + &capitalise(b)
        } else {
            before + &sep + a + &sep + b
        };
        prop_assert!(sensitive_name(&name), "{name}");
    }

    /// A short listed word inside a longer lower-case word is not a match
    /// (`spinner`, `opinion`, `shipping`, `pinned`).
    #[test]
    fn listed_words_inside_longer_words_do_not_match(
        word in prop::sample::select(vec!["pin", "pass", "otp", "ssn", "cvv", "token", "secret", "iban", "pwd", "tin", "pan"]),
        before in filler(),
        after in filler(),
    ) {
        let name = before + word + &after;
        prop_assert!(!sensitive_name(&name), "{name}");
    }

    /// `data-draft="on"` brings back exactly the fields the name heuristics
    /// left out, never a password-type or secret-autocomplete field.
    #[test]
    fn on_overrides_only_the_names(name in "[a-zA-Z_-]{0,16}", password in any::<bool>(), ac in any::<bool>()) {
        let facts = FieldFacts {
            input_type: Some(if password { "password" } else { "text" }),
            name: &name,
            autocomplete: if ac { "cc-csc" } else { "" },
            data_draft: "on",
            ..FieldFacts::default()
        };
        prop_assert_eq!(field_savable(&facts), !password && !ac);
        let plain = FieldFacts { data_draft: "", ..facts };
        prop_assert_eq!(field_savable(&plain), !password && !ac && !sensitive_name(&name));
    }
}
