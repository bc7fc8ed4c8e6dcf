//! Person names beyond string similarity: common English nicknames (`Bob` for `Robert`) and
//! initials (`A. Lee` for `Aisha Lee`).
//!
//! [`align`] rewrites one side's name tokens towards the other's where a token is a nickname of,
//! or the initial of, a token the other side has; the driver scorer compares the rewritten names and
//! gives such a match somewhat less weight than identical names.

/// `(nickname, formal name)`, lower case. A nickname may stand for several names (`pat`: Patricia,
/// Patrick) and then has a row for each. Common English forms only; spelling variants of the
/// formal names (`steven` / `stephen`) are rows of their own.
#[rustfmt::skip]
const NICKNAMES: &[(&str, &str)] = &[
    ("abby", "abigail"), ("al", "albert"), ("al", "alan"), ("al", "alfred"), ("alex", "alexander"),
    ("alex", "alexandra"), ("andy", "andrew"), ("drew", "andrew"), ("tony", "anthony"),
    ("becky", "rebecca"), ("ben", "benjamin"), ("benny", "benjamin"), ("bert", "albert"),
    ("bert", "robert"), ("beth", "elizabeth"), ("betsy", "elizabeth"), ("betty", "elizabeth"),
    ("bill", "william"), ("billy", "william"), ("will", "william"), ("willie", "william"),
    ("liam", "william"), ("bob", "robert"), ("bobby", "robert"), ("rob", "robert"),
    ("robbie", "robert"), ("cathy", "catherine"), ("kathy", "katherine"), ("kathy", "kathleen"),
    ("kate", "katherine"), ("kate", "catherine"), ("katie", "katherine"), ("katie", "kathleen"),
    ("kat", "katherine"), ("chuck", "charles"), ("charlie", "charles"), ("chris", "christopher"),
    ("chris", "christine"), ("chris", "christina"), ("dan", "daniel"), ("danny", "daniel"),
    ("dave", "david"), ("davy", "david"), ("deb", "deborah"), ("debbie", "deborah"),
    ("dick", "richard"), ("rich", "richard"), ("richie", "richard"), ("rick", "richard"),
    ("ricky", "richard"), ("don", "donald"), ("donny", "donald"), ("ed", "edward"),
    ("eddie", "edward"), ("ted", "edward"), ("ted", "theodore"), ("ned", "edward"),
    ("fred", "frederick"), ("freddie", "frederick"), ("frank", "francis"), ("frank", "franklin"),
    ("gene", "eugene"), ("greg", "gregory"), ("hank", "henry"), ("harry", "henry"),
    ("harry", "harold"), ("jack", "john"), ("johnny", "john"), ("jon", "jonathan"),
    ("jake", "jacob"), ("jim", "james"), ("jimmy", "james"), ("jamie", "james"), ("jeff", "jeffrey"),
    ("jen", "jennifer"), ("jenn", "jennifer"), ("jenny", "jennifer"), ("jerry", "gerald"),
    ("jerry", "jerome"), ("jess", "jessica"), ("jessie", "jessica"), ("joe", "joseph"),
    ("joey", "joseph"), ("josh", "joshua"), ("ken", "kenneth"), ("kenny", "kenneth"),
    ("larry", "lawrence"), ("liz", "elizabeth"), ("lizzie", "elizabeth"), ("libby", "elizabeth"),
    ("eliza", "elizabeth"), ("maggie", "margaret"), ("meg", "margaret"), ("peggy", "margaret"),
    ("matt", "matthew"), ("mike", "michael"), ("mikey", "michael"), ("mick", "michael"),
    ("mickey", "michael"), ("nate", "nathan"), ("nate", "nathaniel"), ("nick", "nicholas"),
    ("pat", "patricia"), ("pat", "patrick"), ("patty", "patricia"), ("trish", "patricia"),
    ("phil", "philip"), ("phil", "phillip"), ("ray", "raymond"), ("ron", "ronald"),
    ("ronnie", "ronald"), ("sam", "samuel"), ("sam", "samantha"), ("sammy", "samuel"),
    ("sandy", "sandra"), ("steve", "steven"), ("steve", "stephen"), ("stevie", "steven"),
    ("sue", "susan"), ("susie", "susan"), ("tim", "timothy"), ("timmy", "timothy"),
    ("tom", "thomas"), ("tommy", "thomas"), ("vicky", "victoria"), ("vince", "vincent"),
    ("walt", "walter"), ("zach", "zachary"),
];

/// Whether `a` and `b` (lower case) are one name: equal, or a nickname and its formal name, or two
/// nicknames of one formal name (`bill` / `will`).
pub fn same_given_name(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    formal(a).any(|f| f == b || formal(b).any(|g| g == f)) || formal(b).any(|f| f == a)
}

/// The formal names a nickname stands for (none for a formal name or an unknown one).
fn formal(nick: &str) -> impl Iterator<Item = &'static str> + '_ {
    NICKNAMES.iter().filter(move |(n, _)| *n == nick).map(|(_, f)| *f)
}

/// How a token of one name was aligned with the other name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Aligned {
    /// A nickname was read as the other side's formal name (or the other way round).
    pub nickname: bool,
    /// An initial was read as the other side's name starting with it.
    pub initial: bool,
}

/// `a`'s tokens with each one that is absent from `b` but a nickname form or the initial of a token
/// only `b` has replaced by that token; and what was used. Tokens are lower case; the result keeps
/// `a`'s order.
pub fn align(a: &[&str], b: &[&str]) -> (Vec<String>, Aligned) {
    let mut how = Aligned::default();
    let mut used = vec![false; b.len()];
    for (i, t) in b.iter().enumerate() {
        used[i] = a.contains(t);
    }
    let mut out = Vec::with_capacity(a.len());
    for &t in a {
        if b.contains(&t) {
            out.push(t.to_owned());
            continue;
        }
        let initial = t.len() == 1;
        let hit = (0..b.len()).find(|&i| {
            !used[i]
                && if initial {
                    b[i].len() > 1 && b[i].starts_with(t)
                } else {
                    same_given_name(t, b[i])
                }
        });
        match hit {
            Some(i) => {
                used[i] = true;
                if initial {
                    how.initial = true;
                } else {
                    how.nickname = true;
                }
                out.push(b[i].to_owned());
            }
            None => out.push(t.to_owned()),
        }
    }
    (out, how)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_and_their_formal_names() {
        for (a, b) in [
            ("bob", "robert"),
            ("robert", "bob"),
            ("bill", "william"),
            ("liz", "elizabeth"),
            ("jim", "james"),
            ("mike", "michael"),
            ("bill", "will"),
            ("pat", "patrick"),
            ("pat", "patricia"),
            ("john", "john"),
        ] {
            assert!(same_given_name(a, b), "{a} {b}");
        }
        for (a, b) in [
            ("bob", "william"),
            ("robert", "roberta"),
            ("jim", "john"),
            ("liz", "lisa"),
        ] {
            assert!(!same_given_name(a, b), "{a} {b}");
        }
    }

    #[test]
    fn align_rewrites_towards_the_other_name() {
        let (t, how) = align(&["bob", "smith"], &["robert", "smith"]);
        assert_eq!(t, ["robert", "smith"]);
        assert!(how.nickname && !how.initial);
        let (t, how) = align(&["a", "lee"], &["aisha", "lee"]);
        assert_eq!(t, ["aisha", "lee"]);
        assert!(how.initial && !how.nickname);
        // Nothing to align with: unchanged.
        let (t, how) = align(&["bob", "smith"], &["maria", "smith"]);
        assert_eq!(t, ["bob", "smith"]);
        assert_eq!(how, Aligned::default());
        // A token already matched is not used twice.
        let (t, _) = align(&["j", "j", "lee"], &["jo", "lee"]);
        assert_eq!(t, ["jo", "j", "lee"]);
    }
}
