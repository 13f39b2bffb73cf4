//! One way to name an enum: [`names!`](crate::names) defines a string enum
//! with `FromStr` (`-` and `_` alike, so `plackett-luce` is
//! `plackett_luce`; aliases allowed), `name()`, the list of its names and
//! the "expected one of ..." error naming the argument; [`choices`] lists
//! the names of each enum a user picks by name.

use crate::error::Error;

/// `-` and `_` alike: the key a name is compared by.
pub fn key(s: &str) -> String {
    s.replace('-', "_")
}

/// The error for a name that is none of `names`.
pub fn unknown(arg: &str, got: &str, names: &[&str]) -> Error {
    Error::invalid(arg, format!("unknown {arg} {got:?}; expected one of {}", names.join(", ")))
}

/// `names! { /// docs
///     pub enum Design("design") { Auto = "auto", EquiReplicate = "equi_replicate", ... } }`
/// with optional aliases: `Zermelo = "zermelo" | "mm"`.
#[macro_export]
macro_rules! names {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($arg:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $s:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// The names, canonical spelling, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($s),+];

            pub fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $s ),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> $crate::error::Result<Self> {
                let k = $crate::names::key(s);
                $(
                    if k == $crate::names::key($s) $(|| k == $crate::names::key($alias))* {
                        return Ok($name::$variant);
                    }
                )+
                Err($crate::names::unknown($arg, s, Self::NAMES))
            }
        }
    };
}

/// The names of the enum a user picks by `what` (see the keys below), for
/// help texts; `None` for an unknown key.
pub fn choices(what: &str) -> Option<&'static [&'static str]> {
    use crate::{aggregate, fusion, metrics, plan, trec};
    Some(match key(what).as_str() {
        "block_aggregator" => plan::blocks::BlockAggregator::NAMES,
        "design" => plan::blocks::Design::NAMES,
        "pair_aggregator" => plan::pairs::PairAggregator::NAMES,
        "sampler" => plan::pairs::Sampler::NAMES,
        "setwise_method" => plan::setwise::Method::NAMES,
        "call_kind" => plan::CallKind::NAMES,
        "strength_method" => aggregate::bradley_terry::Method::NAMES,
        "fusion" => fusion::Name::NAMES,
        "norm" => fusion::Norm::NAMES,
        "order" => trec::Order::NAMES,
        "missing" => metrics::Missing::NAMES,
        _ => return None,
    })
}

/// The keys [`choices`] knows.
pub const CHOICES: &[&str] = &[
    "block_aggregator",
    "design",
    "pair_aggregator",
    "sampler",
    "setwise_method",
    "call_kind",
    "strength_method",
    "fusion",
    "norm",
    "order",
    "missing",
];

#[cfg(test)]
mod tests {
    use super::*;

    crate::names! {
        /// A test enum.
        enum Colour("colour") { Red = "red", DarkBlue = "dark_blue" | "navy" }
    }

    #[test]
    fn dashes_and_underscores_alike_and_aliases() {
        assert_eq!("dark-blue".parse::<Colour>().unwrap(), Colour::DarkBlue);
        assert_eq!("dark_blue".parse::<Colour>().unwrap(), Colour::DarkBlue);
        assert_eq!("navy".parse::<Colour>().unwrap(), Colour::DarkBlue);
        assert_eq!(Colour::Red.name(), "red");
        assert_eq!(Colour::NAMES, &["red", "dark_blue"]);
        let e = "green".parse::<Colour>().unwrap_err().to_string();
        assert_eq!(e, "colour: unknown colour \"green\"; expected one of red, dark_blue");
    }

    #[test]
    fn every_choice_list_is_known_and_parses_back() {
        for &c in CHOICES {
            let names = choices(c).unwrap_or_else(|| panic!("{c}"));
            assert!(!names.is_empty(), "{c}");
        }
        assert!(choices("nope").is_none());
        assert_eq!(choices("block-aggregator"), choices("block_aggregator"));
    }
}
