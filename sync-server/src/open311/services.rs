//! What Open311 clients are told about our categories: each category is a service (its slug is
//! the `service_code`), described for Open311 by data in this file — a description, a group,
//! keywords — with the category-specific questions of its service definition as attributes.
//!
//! The questions only help a resident say what they saw; the answers travel into the report's
//! description as readable lines ("Lamp state: Flickering"), so the domain never learns about
//! them and nothing the resident answered is lost. A category an admin adds later is offered
//! too, without questions (`metadata` false) until it gets some here.

use super::params::Params;

/// Open311's input types for attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datatype {
    /// One line of text.
    String,
    /// A number.
    Number,
    /// A W3C date-time.
    Datetime,
    /// Text that may span lines.
    Text,
    /// One of `values`.
    SingleValueList,
    /// Any number of `values`.
    MultiValueList,
}

impl Datatype {
    /// The spec's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::String => "string",
            Datatype::Number => "number",
            Datatype::Datetime => "datetime",
            Datatype::Text => "text",
            Datatype::SingleValueList => "singlevaluelist",
            Datatype::MultiValueList => "multivaluelist",
        }
    }
}

/// One question of a service definition.
#[derive(Debug)]
pub struct Attribute {
    /// The `code` clients answer with (`attribute[code]=…`).
    pub code: &'static str,
    /// A short label for the answer's line in the description.
    pub label: &'static str,
    /// The question, as shown to the resident.
    pub description: &'static str,
    /// The input type.
    pub datatype: Datatype,
    /// Whether a report of this service needs an answer.
    pub required: bool,
    /// Help with the input.
    pub datatype_description: Option<&'static str>,
    /// For lists: `(key, name)` pairs.
    pub values: &'static [(&'static str, &'static str)],
}

/// How a category is presented as an Open311 service.
#[derive(Debug)]
pub struct ServiceInfo {
    /// The category slug.
    pub code: &'static str,
    /// What the service is for.
    pub description: &'static str,
    /// The group it belongs to.
    pub group: &'static str,
    /// Synonyms (the category's Georgian name is added to them).
    pub keywords: &'static str,
    /// The questions, in the order shown.
    pub attributes: &'static [Attribute],
}

/// The first-stage categories as services.
pub const SERVICES: &[ServiceInfo] = &[
    ServiceInfo {
        code: "street-lighting",
        description: "A street lamp that is out, flickering or burning in the daytime, or a damaged lamp post.",
        group: "street",
        keywords: "street light, street lamp, lamp post, lighting, dark street",
        attributes: &[
            Attribute {
                code: "lamp_state",
                label: "Lamp state",
                description: "What is wrong with the lamp?",
                datatype: Datatype::SingleValueList,
                required: true,
                datatype_description: None,
                values: &[
                    ("off", "Off at night"),
                    ("flickering", "Flickering"),
                    ("on_in_daytime", "On in the daytime"),
                ],
            },
            Attribute {
                code: "lamps_out",
                label: "Lamps affected",
                description: "How many lamps in a row are affected?",
                datatype: Datatype::Number,
                required: false,
                datatype_description: Some("A whole number, e.g. 3."),
                values: &[],
            },
            Attribute {
                code: "pole_number",
                label: "Pole number",
                description: "The number painted on the lamp post, if you can see one.",
                datatype: Datatype::String,
                required: false,
                datatype_description: None,
                values: &[],
            },
        ],
    },
    ServiceInfo {
        code: "trees-greenery",
        description: "Trees and greenery care: fallen or dangerous trees, dead branches, pruning and crown shaping, \
                      sick trees, overgrown green areas.",
        group: "parks and greenery",
        keywords: "tree, fallen tree, branch, pruning, crown, greenery, grass, bushes",
        attributes: &[
            Attribute {
                code: "tree_problem",
                label: "Problem",
                description: "What is the problem?",
                datatype: Datatype::SingleValueList,
                required: false,
                datatype_description: None,
                values: &[
                    ("fallen", "Fallen or about to fall"),
                    ("dead_branches", "Dead or hanging branches"),
                    ("pruning", "Needs pruning or crown shaping"),
                    ("sick", "Sick or infested"),
                    ("overgrown", "Overgrown grass or bushes"),
                ],
            },
            Attribute {
                code: "blocking",
                label: "Blocking",
                description: "Is it blocking anything? Choose all that apply.",
                datatype: Datatype::MultiValueList,
                required: false,
                datatype_description: None,
                values: &[
                    ("road", "The road"),
                    ("sidewalk", "The sidewalk"),
                    ("power_lines", "Power lines"),
                    ("signs_or_lights", "Road signs or street lights"),
                ],
            },
        ],
    },
    ServiceInfo {
        code: "park-benches",
        description: "A broken, loose or missing bench in a park, square or public garden.",
        group: "parks and greenery",
        keywords: "bench, seat, park, square, public garden",
        attributes: &[
            Attribute {
                code: "bench_damage",
                label: "Damage",
                description: "What is wrong with the bench?",
                datatype: Datatype::SingleValueList,
                required: false,
                datatype_description: None,
                values: &[
                    ("broken", "Broken seat or back"),
                    ("loose", "Loose or wobbly"),
                    ("missing", "Missing"),
                    ("dirty", "Dirty or painted over"),
                ],
            },
            Attribute {
                code: "bench_count",
                label: "Benches affected",
                description: "How many benches are affected?",
                datatype: Datatype::Number,
                required: false,
                datatype_description: Some("A whole number, e.g. 2."),
                values: &[],
            },
        ],
    },
    ServiceInfo {
        code: "cleaning",
        description: "Rubbish that was not collected, overflowing bins, litter and dumped waste in streets and yards.",
        group: "sanitation",
        keywords: "rubbish, garbage, trash, litter, waste, bin, container, dumping",
        attributes: &[
            Attribute {
                code: "waste_type",
                label: "Waste type",
                description: "What kind of waste is it? Choose all that apply.",
                datatype: Datatype::MultiValueList,
                required: false,
                datatype_description: None,
                values: &[
                    ("household", "Household rubbish"),
                    ("overflowing_bin", "Overflowing bin or container"),
                    ("litter", "Street litter"),
                    ("bulky", "Bulky items (furniture, appliances)"),
                    ("construction", "Construction debris"),
                    ("green", "Garden and green waste"),
                ],
            },
            Attribute {
                code: "amount",
                label: "Amount",
                description: "About how much is there?",
                datatype: Datatype::SingleValueList,
                required: false,
                datatype_description: None,
                values: &[("bag", "A bag or less"), ("car_boot", "Up to a car boot"), ("truck", "A truckload or more")],
            },
        ],
    },
];

/// The Open311 presentation of a category, if this file has one.
pub fn service_info(code: &str) -> Option<&'static ServiceInfo> {
    SERVICES.iter().find(|s| s.code == code)
}

/// The questions of a category (none for one this file does not know).
pub fn attributes_of(code: &str) -> &'static [Attribute] {
    service_info(code).map_or(&[], |s| s.attributes)
}

/// The longest answer to a `string` question.
const MAX_STRING_CHARS: usize = 200;
/// The longest answer to a `text` question.
const MAX_TEXT_CHARS: usize = 2000;

/// The attribute answers a request carried: `attribute[CODE]=v`, and `attribute[CODE][]=v`
/// repeated for several values. Empty values count as absent.
pub fn answers(params: &Params) -> Vec<(String, Vec<String>)> {
    let mut answers: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in params.pairs() {
        let Some(rest) = name.strip_prefix("attribute[") else { continue };
        let Some((code, tail)) = rest.split_once(']') else { continue };
        if !(tail.is_empty() || tail == "[]") || value.trim().is_empty() {
            continue;
        }
        let value = value.trim().to_owned();
        match answers.iter_mut().find(|(c, _)| c == code) {
            Some((_, values)) => values.push(value),
            None => answers.push((code.to_owned(), vec![value])),
        }
    }
    answers
}

/// Checks `answers` against `attributes` and writes them as readable lines, in the definition's
/// order. Answers to questions the service does not ask are ignored (apps send their own
/// bookkeeping as attributes too). Every problem is returned, naming the parameter.
pub fn answer_lines(attributes: &[Attribute], answers: &[(String, Vec<String>)]) -> Result<Vec<String>, Vec<String>> {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for a in attributes {
        let given = answers.iter().find(|(c, _)| c == a.code).map(|(_, v)| v.as_slice()).unwrap_or(&[]);
        let name = format!("attribute[{}]", a.code);
        if given.is_empty() {
            if a.required {
                problems.push(format!("{name}: required — {}", a.description));
            }
            continue;
        }
        let single = || -> Result<&str, String> {
            match given {
                [one] => Ok(one.as_str()),
                _ => Err(format!("{name}: takes one value, got {}", given.len())),
            }
        };
        let name_of = |key: &str| a.values.iter().find(|(k, _)| *k == key).map(|(_, n)| *n);
        let choices = || a.values.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");
        let answer = match a.datatype {
            Datatype::SingleValueList => single().and_then(|key| {
                name_of(key).map(str::to_owned).ok_or_else(|| format!("{name}: '{key}' is not one of {}", choices()))
            }),
            Datatype::MultiValueList => {
                let mut names: Vec<&str> = Vec::new();
                let mut unknown = Vec::new();
                for key in given {
                    match name_of(key) {
                        Some(n) if !names.contains(&n) => names.push(n),
                        Some(_) => {}
                        None => unknown.push(key.as_str()),
                    }
                }
                if unknown.is_empty() {
                    Ok(names.join(", "))
                } else {
                    Err(format!("{name}: '{}' is not one of {}", unknown.join("', '"), choices()))
                }
            }
            Datatype::Number => single().and_then(|v| match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(v.to_owned()),
                _ => Err(format!("{name}: '{v}' is not a number")),
            }),
            Datatype::Datetime => single().and_then(|v| {
                super::params::parse_w3c(&name, v, false, super::document::Format::Xml)
                    .map(super::params::w3c)
                    .map_err(|_| format!("{name}: '{v}' is not a W3C date-time with a zone"))
            }),
            Datatype::String => single().and_then(|v| {
                if v.contains(['\n', '\r']) {
                    Err(format!("{name}: one line only"))
                } else if v.chars().count() > MAX_STRING_CHARS {
                    Err(format!("{name}: at most {MAX_STRING_CHARS} characters"))
                } else {
                    Ok(v.to_owned())
                }
            }),
            Datatype::Text => single().and_then(|v| {
                if v.chars().count() > MAX_TEXT_CHARS {
                    Err(format!("{name}: at most {MAX_TEXT_CHARS} characters"))
                } else {
                    Ok(v.to_owned())
                }
            }),
        };
        match answer {
            Ok(text) => lines.push(format!("{}: {text}", a.label)),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() { Ok(lines) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(query: &str, code: &str) -> Result<Vec<String>, Vec<String>> {
        answer_lines(attributes_of(code), &answers(&Params::parse(query.as_bytes())))
    }

    #[test]
    fn every_service_is_well_formed() {
        for s in SERVICES {
            let mut codes: Vec<_> = s.attributes.iter().map(|a| a.code).collect();
            codes.sort();
            codes.dedup();
            assert_eq!(codes.len(), s.attributes.len(), "{}: attribute codes repeat", s.code);
            for a in s.attributes {
                let lists = matches!(a.datatype, Datatype::SingleValueList | Datatype::MultiValueList);
                assert_eq!(lists, !a.values.is_empty(), "{}.{}: values go with lists only", s.code, a.code);
            }
        }
    }

    #[test]
    fn answers_become_readable_lines_in_definition_order() {
        let lines = answered(
            "attribute[pole_number]=T-17&attribute[lamp_state]=flickering&attribute[lamps_out]=3",
            "street-lighting",
        )
        .unwrap();
        assert_eq!(lines, vec!["Lamp state: Flickering", "Lamps affected: 3", "Pole number: T-17"]);
        let lines = answered(
            "attribute[waste_type][]=bulky&attribute[waste_type][]=household&attribute[waste_type][]=bulky&attribute[other]=x",
            "cleaning",
        )
        .unwrap();
        assert_eq!(lines, vec!["Waste type: Bulky items (furniture, appliances), Household rubbish"]);
        assert_eq!(answered("attribute[waste_type]=litter", "cleaning").unwrap(), vec!["Waste type: Street litter"]);
    }

    #[test]
    fn wrong_answers_name_the_attribute() {
        let problems = answered("attribute[lamps_out]=many&attribute[lamp_state]=", "street-lighting").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("attribute[lamp_state]: required"), "{problems:?}");
        assert!(problems[1].starts_with("attribute[lamps_out]:"), "{problems:?}");
        let problems =
            answered("attribute[lamp_state][]=off&attribute[lamp_state][]=flickering", "street-lighting").unwrap_err();
        assert!(problems[0].contains("takes one value"), "{problems:?}");
        let problems = answered("attribute[waste_type][]=gold", "cleaning").unwrap_err();
        assert!(problems[0].starts_with("attribute[waste_type]: 'gold' is not one of"), "{problems:?}");
    }
}
