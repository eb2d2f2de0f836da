//! Choosing which custodians hold a new key's shares (DESIGN §7).
//!
//! Pure: given the candidates (already filtered to healthy ones) and the
//! constraint, either a choice of `n` custodians or the reason none exists.
//! With `distinct`, no two chosen custodians share that label's value; the
//! greedy choice of one custodian per distinct value is optimal because any
//! `n` values suffice.

use std::collections::BTreeMap;

use symbolon_proto::api::DistinctLabel;

use crate::state::Custodian;

/// Why no placement exists.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unsatisfiable {
    /// Fewer healthy custodians than shares.
    TooFew { healthy: usize, needed: usize },
    /// Fewer distinct label values than shares.
    NotDistinct {
        label: DistinctLabel,
        values: Vec<String>,
        needed: usize,
    },
}

impl std::fmt::Display for Unsatisfiable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooFew { healthy, needed } => write!(
                f,
                "{needed} shares need {needed} healthy custodians, but only {healthy} are healthy"
            ),
            Self::NotDistinct {
                label,
                values,
                needed,
            } => write!(
                f,
                "{needed} shares with distinct {} need {needed} different values, but the healthy custodians have only {}: {}",
                label.as_str(),
                values.len(),
                values.join(", ")
            ),
        }
    }
}

/// Picks `n` of `candidates`, fewest-shares-held first (ties by id), so keys
/// spread over the cluster. The result is in share-index order.
pub(crate) fn choose(
    candidates: &[Custodian],
    n: usize,
    distinct: Option<DistinctLabel>,
) -> Result<Vec<Custodian>, Unsatisfiable> {
    let mut sorted: Vec<&Custodian> = candidates.iter().collect();
    sorted.sort_by(|a, b| a.shares.len().cmp(&b.shares.len()).then(a.id.cmp(&b.id)));
    if sorted.len() < n {
        return Err(Unsatisfiable::TooFew {
            healthy: sorted.len(),
            needed: n,
        });
    }
    let Some(label) = distinct else {
        return Ok(sorted.into_iter().take(n).cloned().collect());
    };
    let mut by_value: BTreeMap<&str, &Custodian> = BTreeMap::new();
    let mut order = Vec::new();
    for c in sorted {
        let value = label.of(&c.labels);
        if !by_value.contains_key(value) {
            by_value.insert(value, c);
            order.push(c);
        }
    }
    if order.len() < n {
        return Err(Unsatisfiable::NotDistinct {
            label,
            values: by_value.keys().map(|v| (*v).to_owned()).collect(),
            needed: n,
        });
    }
    Ok(order.into_iter().take(n).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use symbolon_envelope::Identity;
    use symbolon_proto::custodian::{CustodianKind, Labels};

    fn custodian(id: &str, country: &str, region: &str) -> Custodian {
        Custodian {
            id: id.into(),
            endpoint: String::new(),
            labels: Labels {
                region: region.into(),
                country: country.into(),
                provider: "p".into(),
                kind: CustodianKind::Vm,
            },
            recipient: Identity::generate(&mut rand::rng()).recipient(),
            attestation_key: [0; 32],
            registered_at_ms: 0,
            last_heartbeat_ms: None,
            last_seq: None,
            shares: Vec::new(),
            faults: 0,
            last_fault: None,
        }
    }

    #[test]
    fn distinct_countries() {
        let cs = [
            custodian("a", "DE", "eu"),
            custodian("b", "DE", "eu"),
            custodian("c", "FR", "eu"),
            custodian("d", "JP", "ap"),
        ];
        let chosen = choose(&cs, 3, Some(DistinctLabel::Country)).unwrap();
        let mut countries: Vec<_> = chosen.iter().map(|c| c.labels.country.clone()).collect();
        countries.sort();
        assert_eq!(countries, ["DE", "FR", "JP"]);

        let err = choose(&cs, 3, Some(DistinctLabel::Region)).unwrap_err();
        assert_eq!(
            err,
            Unsatisfiable::NotDistinct {
                label: DistinctLabel::Region,
                values: vec!["ap".into(), "eu".into()],
                needed: 3
            }
        );
        assert!(err.to_string().contains("only 2: ap, eu"), "{err}");
        assert_eq!(
            choose(&cs, 5, None).unwrap_err(),
            Unsatisfiable::TooFew {
                healthy: 4,
                needed: 5
            }
        );
        assert_eq!(choose(&cs, 4, None).unwrap().len(), 4);
    }
}
