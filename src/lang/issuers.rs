//! Issuer entities: the declared table `index-schema/issuers.json` of canonical names, the
//! other forms each is printed under, and renamings with their dates and sources. An issuer
//! the table does not list is an entity of its own, under the name it was printed with.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::fold;

/// The declared table, compiled into the binary.
pub const ISSUERS_JSON: &str = include_str!("../../index-schema/issuers.json");

#[derive(Debug, Deserialize)]
struct Table {
    entities: Vec<EntitySpec>,
}

#[derive(Debug, Deserialize)]
struct EntitySpec {
    name: String,
    #[serde(default)]
    forms: Vec<String>,
    #[serde(default)]
    succeeded_by: Option<Succession>,
}

/// A renaming or merger: the entity that took over, from when, and where that is published.
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct Succession {
    pub name: String,
    pub date: String,
    pub source: String,
}

/// The entities of the table, looked up by any of their forms.
#[derive(Debug, Default)]
pub struct Entities {
    /// Canonical name of every form (the canonical names included), keyed by the form.
    canonical: HashMap<String, String>,
    /// Every form of each canonical name, the name first.
    forms: HashMap<String, Vec<String>>,
    /// Who each canonical name succeeded, directly.
    predecessors: HashMap<String, Vec<String>>,
    successions: HashMap<String, Succession>,
}

/// Why the table is unusable (a build of a bad edit fails its tests, not a search).
#[derive(Debug, thiserror::Error)]
#[error("index-schema/issuers.json is not valid: {0}")]
pub struct InvalidTable(String);

impl Entities {
    /// The table compiled into the binary.
    pub fn bundled() -> &'static Entities {
        static TABLE: OnceLock<Entities> = OnceLock::new();
        TABLE.get_or_init(|| {
            Entities::parse(ISSUERS_JSON).unwrap_or_else(|e| {
                tracing::error!("{e}; issuers are grouped by printed name only");
                Entities::default()
            })
        })
    }

    pub fn parse(json: &str) -> Result<Entities, InvalidTable> {
        let table: Table = serde_json::from_str(json).map_err(|e| InvalidTable(e.to_string()))?;
        let mut entities = Entities::default();
        for spec in table.entities {
            let name = fold::to_simplified(spec.name.trim());
            let mut forms = vec![name.clone()];
            for form in spec.forms {
                let form = fold::to_simplified(form.trim());
                if !forms.contains(&form) {
                    forms.push(form);
                }
            }
            for form in &forms {
                if let Some(other) = entities.canonical.insert(form.clone(), name.clone()) {
                    return Err(InvalidTable(format!(
                        "`{form}` is a form of both `{other}` and `{name}`"
                    )));
                }
            }
            if let Some(succession) = spec.succeeded_by {
                entities
                    .predecessors
                    .entry(fold::to_simplified(&succession.name))
                    .or_default()
                    .push(name.clone());
                entities.successions.insert(name.clone(), succession);
            }
            entities.forms.insert(name, forms);
        }
        if let Some(unknown) = entities
            .predecessors
            .keys()
            .find(|n| !entities.forms.contains_key(*n))
        {
            return Err(InvalidTable(format!(
                "`{unknown}` succeeds an entity but is not an entity itself"
            )));
        }
        Ok(entities)
    }

    /// The canonical name of the entity printed as `issuer` (itself when not listed).
    pub fn canonical(&self, issuer: &str) -> String {
        let simplified = fold::to_simplified(issuer.trim());
        self.canonical
            .get(&simplified)
            .cloned()
            .unwrap_or(simplified)
    }

    /// Every form of the entity printed as `issuer`, its canonical name first.
    pub fn forms(&self, issuer: &str) -> Vec<String> {
        let name = self.canonical(issuer);
        self.forms.get(&name).cloned().unwrap_or_else(|| vec![name])
    }

    /// The entity printed as `issuer` and every entity it succeeded, directly or through
    /// others, canonical names, itself first.
    pub fn with_predecessors(&self, issuer: &str) -> Vec<String> {
        let mut out = vec![self.canonical(issuer)];
        let mut i = 0;
        while let Some(name) = out.get(i).cloned() {
            for predecessor in self.predecessors.get(&name).into_iter().flatten() {
                if !out.contains(predecessor) {
                    out.push(predecessor.clone());
                }
            }
            i += 1;
        }
        out
    }

    /// Who took over from the entity printed as `issuer`, if the table says.
    pub fn succeeded_by(&self, issuer: &str) -> Option<&Succession> {
        self.successions.get(&self.canonical(issuer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses_and_its_renamings_chain() {
        let table = Entities::parse(ISSUERS_JSON).expect("valid table");
        assert_eq!(table.canonical("国办"), "国务院办公厅");
        assert_eq!(table.canonical("國辦"), "国务院办公厅");
        assert_eq!(table.canonical("某某局"), "某某局");
        assert_eq!(
            table.with_predecessors("人社部"),
            [
                "人力资源和社会保障部",
                "劳动和社会保障部",
                "人事部",
                "劳动部"
            ]
        );
        assert_eq!(
            table.succeeded_by("劳动保障部").map(|s| s.name.as_str()),
            Some("人力资源和社会保障部")
        );
        assert!(
            table
                .forms("劳动和社会保障部")
                .contains(&"劳动保障部".to_string())
        );
    }

    #[test]
    fn a_form_of_two_entities_is_refused() {
        let error = Entities::parse(
            r#"{"entities": [{"name": "甲局", "forms": ["甲"]}, {"name": "乙局", "forms": ["甲"]}]}"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("`甲`"), "{error}");
    }
}
