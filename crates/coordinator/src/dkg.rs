//! Relaying a distributed key generation among custodians (`POST /v1/keys`
//! with `dkg: true`; protocol in `symbolon_proto::dkg`). The coordinator
//! never sees a secret: it forwards round-1 broadcasts (public), round-2
//! packages sealed by each custodian to its recipient and signed by the
//! sender, and collects every custodian's view of the group key, which
//! must agree. A custodian that detects a cheater names it; the DKG then
//! fails cleanly: every participant drops the session and any share it
//! stored.

use std::collections::BTreeMap;

use futures::future::join_all;
use serde::Serialize;
use serde::de::DeserializeOwned;
use symbolon_proto::CustodianFailure;
use symbolon_proto::api::KeyKind;
use symbolon_proto::dkg::{
    DkgDone, DkgFinish, DkgPackage, DkgParticipant, DkgRound1, DkgRound2, DkgRound2Request,
    DkgStart,
};

use crate::fanout::exchange;
use crate::state::{AppState, Custodian};

/// A finished DKG: the group's public side and each participant's stored
/// share, in participant order.
pub(crate) struct Generated {
    pub(crate) group: Vec<u8>,
    pub(crate) shares: Vec<DkgDone>,
}

/// Why the DKG failed: who, and why. `culprits` are the participants other
/// custodians caught cheating (they are also in `failures`).
pub(crate) struct DkgFailed {
    pub(crate) failures: Vec<CustodianFailure>,
    pub(crate) culprits: Vec<CustodianFailure>,
}

/// Runs the DKG for a new key among `chosen` (participant `i + 1` is
/// `chosen[i]`). On failure every participant is told to drop the session.
pub(crate) async fn generate(
    state: &AppState,
    chosen: &[Custodian],
    key_id: &str,
    kind: KeyKind,
    threshold: u16,
    label: String,
) -> Result<Generated, DkgFailed> {
    let session = hex::encode(rand::random::<[u8; 16]>());
    let start = DkgStart {
        key_id: key_id.to_owned(),
        version: 1,
        kind,
        threshold,
        participants: chosen
            .iter()
            .zip(1u16..)
            .map(|(c, index)| DkgParticipant {
                index,
                custodian_id: c.id.clone(),
                recipient: c.recipient.to_string(),
            })
            .collect(),
        label,
    };
    let result = run(state, chosen, &session, &start).await;
    if result.is_err() {
        abort(state, chosen, &session).await;
    }
    result
}

async fn run(
    state: &AppState,
    chosen: &[Custodian],
    session: &str,
    start: &DkgStart,
) -> Result<Generated, DkgFailed> {
    // Round 1: every participant's broadcast.
    let round1: Vec<DkgRound1> = all(
        chosen,
        join_all(
            chosen
                .iter()
                .map(|c| post(state, c, format!("/v1/dkg/{session}/round1"), start)),
        )
        .await,
    )?;
    let broadcast: Vec<DkgPackage> = round1
        .iter()
        .map(|r| DkgPackage {
            index: r.index,
            package: r.package.clone(),
        })
        .collect();
    same_senders(chosen, &round1, |a| (&a.custodian_id, a.index), "round 1")?;
    // Round 2: the same set to everyone; sealed packages back.
    let request = DkgRound2Request { round1: broadcast };
    let round2: Vec<DkgRound2> = all(
        chosen,
        join_all(
            chosen
                .iter()
                .map(|c| post(state, c, format!("/v1/dkg/{session}/round2"), &request)),
        )
        .await,
    )?;
    // Route: participant j gets, from every sender i, the package i
    // sealed to j.
    same_senders(chosen, &round2, |a| (&a.custodian_id, a.index), "round 2")?;
    let mut inbox: BTreeMap<u16, Vec<DkgPackage>> = BTreeMap::new();
    for ((custodian, answer), sender) in chosen.iter().zip(&round2).zip(1u16..) {
        let mut recipients: Vec<u16> = answer.sealed.iter().map(|p| p.index).collect();
        recipients.sort_unstable();
        let expected: Vec<u16> = (1..=u16::try_from(chosen.len()).unwrap_or(u16::MAX))
            .filter(|&j| j != sender)
            .collect();
        if recipients != expected {
            return Err(one(
                custodian,
                "did not send exactly one round-2 package to every other participant",
            ));
        }
        for sealed in &answer.sealed {
            inbox.entry(sealed.index).or_default().push(DkgPackage {
                index: sender,
                package: sealed.package.clone(),
            });
        }
    }
    let finishes: Vec<DkgFinish> = (1..=u16::try_from(chosen.len()).unwrap_or(u16::MAX))
        .map(|j| DkgFinish {
            round2: inbox.remove(&j).unwrap_or_default(),
        })
        .collect();
    let done: Vec<DkgDone> = all(
        chosen,
        join_all(
            chosen
                .iter()
                .zip(&finishes)
                .map(|(c, finish)| post(state, c, format!("/v1/dkg/{session}/finish"), finish)),
        )
        .await,
    )?;
    same_senders(
        chosen,
        &done,
        |a| (&a.custodian_id, a.index),
        "the last round",
    )?;
    // Every custodian must have derived the same group.
    let group = done.first().map(|d| d.group.clone()).unwrap_or_default();
    for answer in &done {
        if answer.group != group {
            return Err(DkgFailed {
                failures: chosen
                    .iter()
                    .map(|c| CustodianFailure {
                        id: c.id.clone(),
                        reason: "the participants derived different group keys (a relayed message was altered)".to_owned(),
                    })
                    .collect(),
                culprits: Vec::new(),
            });
        }
    }
    Ok(Generated {
        group,
        shares: done,
    })
}

/// Checks that each answer of `round` came from the participant asked
/// (participant `i + 1` is `chosen[i]`); `sender` reads an answer's
/// custodian id and index.
fn same_senders<T>(
    chosen: &[Custodian],
    answers: &[T],
    sender: impl Fn(&T) -> (&String, u16),
    round: &str,
) -> Result<(), DkgFailed> {
    for ((custodian, answer), index) in chosen.iter().zip(answers).zip(1u16..) {
        let (id, answered) = sender(answer);
        if *id != custodian.id || answered != index {
            return Err(one(
                custodian,
                &format!("answered {round} as another participant"),
            ));
        }
    }
    Ok(())
}

/// One participant failed with `reason`.
fn one(custodian: &Custodian, reason: &str) -> DkgFailed {
    DkgFailed {
        failures: vec![CustodianFailure {
            id: custodian.id.clone(),
            reason: reason.to_owned(),
        }],
        culprits: Vec::new(),
    }
}

/// One custodian's answer or its failure: a reason, and the participants
/// its problem document names as cheaters.
type Answer<T> = Result<T, (String, Vec<CustodianFailure>)>;

/// All answers, or every failure (a cheater named by others is blamed,
/// with who reported it).
fn all<T>(chosen: &[Custodian], answers: Vec<Answer<T>>) -> Result<Vec<T>, DkgFailed> {
    let mut good = Vec::with_capacity(answers.len());
    let mut failures = Vec::new();
    let mut culprits: Vec<CustodianFailure> = Vec::new();
    for (custodian, answer) in chosen.iter().zip(answers) {
        match answer {
            Ok(value) => good.push(value),
            Err((reason, named)) if !named.is_empty() => {
                for culprit in named {
                    let reported = format!("{} (reported by {})", culprit.reason, custodian.id);
                    match culprits.iter_mut().find(|c| c.id == culprit.id) {
                        Some(known) => known.reason.push_str(&format!("; {reported}")),
                        None => culprits.push(CustodianFailure {
                            id: culprit.id,
                            reason: reported,
                        }),
                    }
                }
                tracing::warn!(custodian = %custodian.id, %reason, "DKG participant reported a cheater");
            }
            Err((reason, _)) => failures.push(CustodianFailure {
                id: custodian.id.clone(),
                reason,
            }),
        }
    }
    if failures.is_empty() && culprits.is_empty() {
        return Ok(good);
    }
    let mut all_failures = culprits.clone();
    all_failures.extend(failures);
    Err(DkgFailed {
        failures: all_failures,
        culprits,
    })
}

async fn post<Req: Serialize, Resp: DeserializeOwned>(
    state: &AppState,
    custodian: &Custodian,
    path: String,
    body: &Req,
) -> Answer<Resp> {
    let url = format!("{}{path}", custodian.endpoint.trim_end_matches('/'));
    exchange(state, state.http.post(&url).json(body))
        .await
        .map_err(|refusal| {
            let named = refusal.problem.map(|p| p.custodians).unwrap_or_default();
            (refusal.reason, named)
        })
}

/// Best effort: every participant drops the session and any share it
/// stored for it.
async fn abort(state: &AppState, chosen: &[Custodian], session: &str) {
    crate::fanout::delete_everywhere(
        state,
        chosen,
        &format!("/v1/dkg/{session}"),
        "abort a DKG session",
    )
    .await;
}
