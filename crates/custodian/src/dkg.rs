//! Distributed key generation among custodians (`symbolon key create
//! --dkg`, DESIGN §2): the custodians generate an `ed25519` or
//! `ristretto255` key among themselves and the coordinator only relays, so
//! the key never exists anywhere. The wire protocol is
//! `symbolon_proto::dkg`; the math is `symbolon_threshold::dkg`, FROST's
//! KeyGen (Komlo–Goldberg, *FROST*, SAC 2020, Figure 1: Pedersen's DKG with
//! a Schnorr proof of knowledge of each constant term).
//!
//! # One session, step by step
//!
//! 1. **Round 1** ([`round1`], `POST /v1/dkg/{session}/round1`). The
//!    [`DkgStart`] is checked: a threshold kind; participants exactly
//!    `1..=n` with distinct custodian ids and recipient keys, this
//!    custodian among them once with its own recipient; `2 <= t <= n <=
//!    255`; no share held for the key version yet; the session id unused.
//!    The custodian draws its polynomial (`part1`), keeps the secret state
//!    in memory and answers its round-1 broadcast.
//! 2. **Round 2** ([`round2`]). The relayed round-1 set must hold every
//!    index once and this custodian's own package byte for byte (else the
//!    relay equivocates). Every other proof of knowledge is checked
//!    (`part2`). Each other participant `j` gets its secret share as a
//!    shard envelope HPKE-sealed (RFC 9180) to `j`'s recipient key and
//!    signed with this custodian's identity key, whose metadata names the
//!    key, version, `j`, `t`, `n` and commits to
//!    [`round1_digest`] of the round-1 set it saw.
//! 3. **Finish** ([`finish`]). One envelope from every other participant;
//!    each must be signed by its sender's own key, verify, be sealed to
//!    this custodian for this key version, index, `t` and `n`, and commit to
//!    the round-1 set this custodian saw. The shares are checked against
//!    their senders' commitments (`part3`), which yields this custodian's
//!    key share and the group. The share is stored like a dealt one (see
//!    `crate::vault`): a share package of version 2
//!    (`symbolon_proto::scalar::encode_dkg_package`) in an envelope sealed
//!    to and signed by this custodian itself, committing to the group —
//!    written atomically, verified again at every start, reported in
//!    heartbeats, used for partial results.
//! 4. **Abort** ([`abort`], `DELETE /v1/dkg/{session}`). Drops the session
//!    and, if it finished, the share it stored (only that one); idempotent.
//!    A share that cannot be deleted keeps its session, so the abort can be
//!    retried.
//!    The coordinator calls it on every participant when a DKG fails.
//!
//! # Who is blamed
//!
//! A participant whose round-1 package is malformed or whose proof of
//! knowledge fails, whose round-2 envelope is not its own, does not verify
//! or does not open, or whose share is off its commitment, is named in the
//! problem's `custodians` (`dkg-participant-failed`): the coordinator
//! excludes it. A round-1 set that does not hold this custodian's own
//! package unchanged, or a round-2 envelope committing to another round-1
//! set, is `dkg-equivocation` (the relay showed the participants different
//! sets; the sender is named in the second case). Every refusal but a
//! malformed request ends the session (`failed`: only deleting it is
//! left); the secret state is wiped when it drops.
//!
//! # State
//!
//! Sessions live in memory only: a restart forgets every DKG in progress
//! (the coordinator's DKG then fails; nothing was stored). A session
//! expires [`SESSION_TTL`] after its last step; an expired one is dropped
//! (its secret state wiped) at the next access to any session or the next
//! heartbeat, whichever comes first. A finished session leaves a record
//! without secrets (the key version and the digest of the stored share) for
//! the same time, so that a late abort still removes the share; at most
//! [`MAX_SESSIONS`] are kept. At most one session at a time may target a
//! key version.
//!
//! The last round and the abort run on tasks of their own (round 2 on the
//! blocking pool): a request dropped because the coordinator gave up never
//! leaves a session busy for good, nor a stored share its session forgot.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use symbolon_envelope::{Envelope, Metadata, Recipient, RecipientInfo, Scheme};
use symbolon_proto::CustodianFailure;
use symbolon_proto::api::KeyKind;
use symbolon_proto::dkg::{
    DkgDone, DkgFinish, DkgPackage, DkgRound1, DkgRound2, DkgRound2Request, DkgStart, round1_digest,
};
use symbolon_proto::scalar;
use symbolon_threshold::MAX_PARTICIPANTS;
use symbolon_threshold::dkg::{self, Suite};
use zeroize::Zeroizing;

use crate::state::{State, to_completion};
use crate::vault::{self, StoreError, Stored};

/// How long a session lives after its last step.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(10 * 60);

/// How many sessions (running, failed or finished) are kept at most.
pub(crate) const MAX_SESSIONS: usize = 64;

/// Why a DKG step was refused. The routes module answers each with a
/// problem document.
#[derive(Debug)]
pub(crate) enum DkgRefusal {
    /// A malformed request: session id, participants, parameters, or the
    /// shape of a relayed set (400 `bad-request`). The session, if any,
    /// stays as it was.
    BadRequest(String),
    /// The key kind has no DKG (409 `wrong-kind`, as for every operation
    /// on a key of the wrong kind).
    WrongKind(KeyKind),
    /// This custodian is not among the participants, or not with its own
    /// recipient key (422 `not-a-participant`).
    NotAParticipant(String),
    /// The session id is taken, the session is at another step, or the key
    /// version is held or being generated already (409 `conflict`).
    Conflict(String),
    /// No such session, or it expired (404 `not-found`).
    UnknownSession(String),
    /// [`MAX_SESSIONS`] are kept already (503 `too-many-sessions`).
    TooManySessions,
    /// The relay showed participants different round-1 sets (422
    /// `dkg-equivocation`).
    Equivocation {
        /// What happened.
        detail: String,
        /// The senders whose envelopes committed to another set (none when
        /// this custodian's own package was altered).
        culprits: Vec<CustodianFailure>,
    },
    /// Participants cheated or failed (422 `dkg-participant-failed`).
    ParticipantFailed {
        /// What happened.
        detail: String,
        /// Each culprit and why.
        culprits: Vec<CustodianFailure>,
    },
    /// Our own fault: logged, answered with a bare 500.
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> DkgRefusal {
    DkgRefusal::Internal(error.into())
}

fn participant_failed(culprits: Vec<CustodianFailure>) -> DkgRefusal {
    let named: Vec<String> = culprits
        .iter()
        .map(|c| format!("{}: {}", c.id, c.reason))
        .collect();
    DkgRefusal::ParticipantFailed {
        detail: format!("the DKG failed because of {}", named.join("; ")),
        culprits,
    }
}

// ---------------------------------------------------------------------------
// Sessions.

/// One participant, as the start named it.
struct Peer {
    /// Its custodian id.
    id: String,
    /// Its recipient key: round-2 packages to it are sealed to it, and the
    /// ones it sends are signed by it.
    recipient: Recipient,
}

/// A session's checked parameters.
struct Plan {
    /// The start as received.
    start: DkgStart,
    /// The envelope scheme of the key kind.
    scheme: Scheme,
    /// This custodian's index.
    own: u16,
    /// Every participant (this custodian included), by index `1..=n`.
    peers: BTreeMap<u16, Peer>,
}

impl Plan {
    /// `n` (at most [`MAX_PARTICIPANTS`], checked by [`plan`]).
    fn participants(&self) -> u16 {
        u16::try_from(self.peers.len()).unwrap_or(u16::MAX)
    }

    /// The other participants' indices, ascending.
    fn others(&self) -> impl Iterator<Item = u16> + '_ {
        self.peers.keys().copied().filter(|&i| i != self.own)
    }

    /// Participant `index` named as a culprit.
    fn blame(&self, index: u16, reason: impl Into<String>) -> CustodianFailure {
        CustodianFailure {
            id: self
                .peers
                .get(&index)
                .map_or_else(|| format!("participant {index}"), |p| p.id.clone()),
            reason: reason.into(),
        }
    }

    /// A threshold-crate error: a participant named by it is blamed;
    /// anything else is our fault (the shapes were checked before).
    fn fault(&self, error: symbolon_threshold::Error) -> DkgRefusal {
        use symbolon_threshold::Error as E;
        match error {
            E::InvalidProofOfKnowledge { index }
            | E::InvalidSecretShare { index }
            | E::InvalidPackage { index, .. } => {
                participant_failed(vec![self.blame(index, error.to_string())])
            }
            other => internal(other),
        }
    }

    /// The metadata of the envelope this custodian stores its share in
    /// (`commitment`: the group commitment; every participant derives the
    /// same split id from it).
    fn share_metadata(&self, state: &State, commitment: [u8; 32], now: u64) -> Metadata {
        Metadata {
            split_id: commitment.first_chunk().copied().unwrap_or_default(),
            key_id: self.start.key_id.clone(),
            epoch: self.start.version,
            scheme: self.scheme,
            index: self.own,
            threshold: self.start.threshold,
            shares: self.participants(),
            recipient: Some(RecipientInfo {
                id: state.id.clone(),
                fingerprint: state.keys.identity.recipient().fingerprint(),
            }),
            created_at: now,
            expires_at: None,
            commitment,
            label: self.start.label.clone(),
        }
    }
}

/// A round-1 secret state with the package broadcast.
struct Round1Held<S: Suite> {
    secret: dkg::Round1Secret<S>,
    package: Vec<u8>,
}

/// A round-2 secret state with the round-1 set it was computed from.
struct Round2Held<S: Suite> {
    secret: dkg::Round2Secret<S>,
    /// The other participants' round-1 packages.
    round1: BTreeMap<u16, dkg::Round1Package<S>>,
    /// [`round1_digest`] of the whole set, own package included.
    digest: [u8; 32],
}

enum Round1State {
    Ed25519(Round1Held<dkg::Ed25519>),
    Ristretto255(Round1Held<dkg::Ristretto255>),
}

enum Round2State {
    Ed25519(Round2Held<dkg::Ed25519>),
    Ristretto255(Round2Held<dkg::Ristretto255>),
}

/// Where a session is.
enum Phase {
    /// Round 1 answered; waiting for the round-1 set.
    Round1(Round1State),
    /// Round 2 answered; waiting for the round-2 envelopes.
    Round2(Round2State),
    /// A step is running (its state is out of the map).
    Busy,
    /// A step was refused; only deleting is left.
    Failed,
    /// The share was stored; its envelope has this digest.
    Finished { digest: [u8; 32] },
}

impl Phase {
    fn describe(&self) -> &'static str {
        match self {
            Phase::Round1(_) => "waiting for round 2",
            Phase::Round2(_) => "waiting for the last round",
            Phase::Busy => "running a step",
            Phase::Failed => "failed (delete it)",
            Phase::Finished { .. } => "finished",
        }
    }

    /// Whether the session still may store a share.
    fn is_running(&self) -> bool {
        matches!(self, Phase::Round1(_) | Phase::Round2(_) | Phase::Busy)
    }
}

/// The step asking for a session.
#[derive(Clone, Copy)]
enum Step {
    Round2,
    Finish,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Round2 => "round 2",
            Step::Finish => "the last round",
        })
    }
}

struct Session {
    plan: Arc<Plan>,
    /// Tells this session from a later one under the same id.
    generation: u64,
    expires: Instant,
    phase: Phase,
}

/// A session taken out for a step.
struct Taken {
    plan: Arc<Plan>,
    generation: u64,
    phase: Phase,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    generation: u64,
}

impl Inner {
    fn purge(&mut self, now: Instant) {
        self.sessions.retain(|id, s| {
            let keep = s.expires > now;
            if !keep {
                tracing::info!(
                    session = id,
                    phase = s.phase.describe(),
                    "DKG session expired"
                );
            }
            keep
        });
    }
}

/// The DKG sessions of one custodian (memory only; see the module docs).
#[derive(Default)]
pub(crate) struct Sessions {
    inner: Mutex<Inner>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("sessions", &self.lock().sessions.len())
            .finish()
    }
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the expired sessions, wiping their secret state: run with
    /// every heartbeat, so that a DKG the coordinator abandoned does not
    /// keep its polynomial in memory until the next one.
    pub(crate) fn expire(&self) {
        self.lock().purge(Instant::now());
    }

    /// Records a new session at round 1.
    fn open(&self, id: &str, plan: Arc<Plan>, phase: Phase) -> Result<(), DkgRefusal> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.purge(now);
        if inner.sessions.contains_key(id) {
            return Err(DkgRefusal::Conflict(format!(
                "DKG session {id:?} is already in use; start a new session"
            )));
        }
        if let Some((other, _)) = inner.sessions.iter().find(|(_, s)| {
            s.phase.is_running()
                && s.plan.start.key_id == plan.start.key_id
                && s.plan.start.version == plan.start.version
        }) {
            return Err(DkgRefusal::Conflict(format!(
                "DKG session {other:?} is already generating key {:?} version {}",
                plan.start.key_id, plan.start.version
            )));
        }
        if inner.sessions.len() >= MAX_SESSIONS {
            return Err(DkgRefusal::TooManySessions);
        }
        inner.generation = inner.generation.wrapping_add(1);
        let generation = inner.generation;
        inner.sessions.insert(
            id.to_owned(),
            Session {
                plan,
                generation,
                expires: now + SESSION_TTL,
                phase,
            },
        );
        Ok(())
    }

    /// Takes the session's state out for `step` (leaving it busy), once
    /// `check` accepts the request against the session's plan; a request
    /// it refuses leaves the session as it was.
    fn take(
        &self,
        id: &str,
        step: Step,
        check: impl FnOnce(&Plan) -> Result<(), DkgRefusal>,
    ) -> Result<Taken, DkgRefusal> {
        let mut inner = self.lock();
        inner.purge(Instant::now());
        let session = inner.sessions.get_mut(id).ok_or_else(|| {
            DkgRefusal::UnknownSession(format!("no DKG session {id:?} (unknown, or expired)"))
        })?;
        let ready = matches!(
            (step, &session.phase),
            (Step::Round2, Phase::Round1(_)) | (Step::Finish, Phase::Round2(_))
        );
        if !ready {
            return Err(DkgRefusal::Conflict(format!(
                "DKG session {id:?} is {}: {step} cannot run now",
                session.phase.describe()
            )));
        }
        check(&session.plan)?;
        let phase = std::mem::replace(&mut session.phase, Phase::Busy);
        Ok(Taken {
            plan: Arc::clone(&session.plan),
            generation: session.generation,
            phase,
        })
    }

    /// Puts a taken session back in `phase` and restarts its clock;
    /// `false` if it was deleted (or expired) meanwhile.
    fn settle(&self, id: &str, generation: u64, phase: Phase) -> bool {
        let mut inner = self.lock();
        match inner.sessions.get_mut(id) {
            Some(session) if session.generation == generation => {
                session.phase = phase;
                session.expires = Instant::now() + SESSION_TTL;
                true
            }
            _ => false,
        }
    }

    /// Removes a session.
    fn remove(&self, id: &str) -> Option<Session> {
        self.lock().sessions.remove(id)
    }

    /// Puts back a session removed by an abort that failed, so that a
    /// retried abort finds it (unless its id was taken meanwhile), and
    /// restarts its clock.
    fn restore(&self, id: &str, mut session: Session) {
        session.expires = Instant::now() + SESSION_TTL;
        self.lock().sessions.entry(id.to_owned()).or_insert(session);
    }
}

// ---------------------------------------------------------------------------
// Round 1.

/// `POST /v1/dkg/{session}/round1`: checks the start (see the module docs),
/// draws this custodian's polynomial and answers its round-1 broadcast.
pub(crate) fn round1(
    state: &State,
    session: &str,
    start: DkgStart,
) -> Result<DkgRound1, DkgRefusal> {
    check_session_id(session)?;
    let plan = plan(state, start)?;
    let (key_id, version) = (&plan.start.key_id, plan.start.version);
    if let Some(held) = state.vault.get(key_id, version) {
        return Err(DkgRefusal::Conflict(format!(
            "a share (digest {}) is already held for key {key_id:?} version {version}",
            hex::encode(held.digest)
        )));
    }
    let (held, package) = match plan.start.kind {
        KeyKind::Ed25519 => {
            let held = begin::<dkg::Ed25519>(&plan)?;
            let package = held.package.clone();
            (Round1State::Ed25519(held), package)
        }
        KeyKind::Ristretto255 => {
            let held = begin::<dkg::Ristretto255>(&plan)?;
            let package = held.package.clone();
            (Round1State::Ristretto255(held), package)
        }
        kind @ KeyKind::Secret => return Err(DkgRefusal::WrongKind(kind)),
    };
    let own = plan.own;
    tracing::info!(
        session,
        key_id = plan.start.key_id,
        version = plan.start.version,
        kind = plan.start.kind.as_str(),
        threshold = plan.start.threshold,
        participants = plan.participants(),
        index = own,
        "DKG round 1"
    );
    state
        .dkg
        .open(session, Arc::new(plan), Phase::Round1(held))?;
    Ok(DkgRound1 {
        custodian_id: state.id.clone(),
        index: own,
        package,
    })
}

fn check_session_id(session: &str) -> Result<(), DkgRefusal> {
    symbolon_proto::validate_name("DKG session id", session)
        .map_err(|e| DkgRefusal::BadRequest(e.to_string()))
}

/// Checks a start and makes its plan.
fn plan(state: &State, start: DkgStart) -> Result<Plan, DkgRefusal> {
    let bad = |reason: String| Err(DkgRefusal::BadRequest(reason));
    // `secret` keys are shared byte-wise: no DKG.
    let scheme = scalar::scheme(start.kind).ok_or(DkgRefusal::WrongKind(start.kind))?;
    symbolon_proto::validate_name("key id", &start.key_id)
        .map_err(|e| DkgRefusal::BadRequest(e.to_string()))?;
    let Some(participants) = u16::try_from(start.participants.len())
        .ok()
        .filter(|&n| n <= MAX_PARTICIPANTS)
    else {
        return bad(format!(
            "{} participants; a key may have at most {MAX_PARTICIPANTS}",
            start.participants.len()
        ));
    };
    let threshold = start.threshold;
    if threshold < 2 || threshold > participants {
        return bad(format!(
            "threshold {threshold} for {participants} participants: need 2 <= threshold <= participants"
        ));
    }
    let mut peers = BTreeMap::new();
    let mut ids = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for p in &start.participants {
        if p.index == 0 || p.index > participants {
            return bad(format!(
                "participant index {} is outside 1..={participants}",
                p.index
            ));
        }
        symbolon_proto::validate_name("custodian id", &p.custodian_id)
            .map_err(|e| DkgRefusal::BadRequest(e.to_string()))?;
        let recipient: Recipient = p.recipient.parse().map_err(|e| {
            DkgRefusal::BadRequest(format!(
                "participant {} ({}) has an invalid recipient: {e}",
                p.index, p.custodian_id
            ))
        })?;
        if !ids.insert(p.custodian_id.as_str()) {
            return bad(format!(
                "custodian {:?} appears more than once",
                p.custodian_id
            ));
        }
        if !keys.insert(recipient.fingerprint()) {
            return bad(format!(
                "participant {} ({}) has the recipient key of another participant",
                p.index, p.custodian_id
            ));
        }
        let peer = Peer {
            id: p.custodian_id.clone(),
            recipient,
        };
        if peers.insert(p.index, peer).is_some() {
            return bad(format!(
                "participant index {} appears more than once",
                p.index
            ));
        }
    }
    // `n` distinct indices in 1..=n: exactly 1..=n.
    let Some((&own, me)) = peers.iter().find(|(_, p)| p.id == state.id) else {
        return Err(DkgRefusal::NotAParticipant(format!(
            "this custodian ({}) is not among the participants",
            state.id
        )));
    };
    if me.recipient != state.keys.identity.recipient() {
        return Err(DkgRefusal::NotAParticipant(format!(
            "the participant named {} (index {own}) has recipient {}, which is not this custodian's key",
            state.id, me.recipient
        )));
    }
    let plan = Plan {
        start,
        scheme,
        own,
        peers,
    };
    // The share will be stored under this metadata: it must be valid
    // (label length, no control characters).
    plan.share_metadata(state, [0; 32], 0)
        .validate()
        .map_err(|e| DkgRefusal::BadRequest(format!("the label cannot be stored: {e}")))?;
    Ok(plan)
}

fn begin<S: Suite>(plan: &Plan) -> Result<Round1Held<S>, DkgRefusal> {
    let (secret, package) = dkg::part1::<S, _>(
        plan.own,
        plan.start.threshold,
        plan.participants(),
        &mut rand::rng(),
    )
    .map_err(internal)?;
    Ok(Round1Held {
        secret,
        package: package.to_bytes(),
    })
}

// ---------------------------------------------------------------------------
// Round 2.

/// `POST /v1/dkg/{session}/round2`: checks the round-1 set and every proof
/// of knowledge, answers the round-2 envelopes (CPU-bound: run it off the
/// async workers).
pub(crate) fn round2(
    state: &State,
    session: &str,
    request: &DkgRound2Request,
) -> Result<DkgRound2, DkgRefusal> {
    check_session_id(session)?;
    let Taken {
        plan,
        generation,
        phase,
    } = state.dkg.take(session, Step::Round2, |plan| {
        check_set(plan, &request.round1, plan.peers.keys().copied())
    })?;
    let Phase::Round1(held) = phase else {
        return Err(internal("a session taken for round 2 is not at round 1"));
    };
    let result = match held {
        Round1State::Ed25519(held) => {
            round2_with(state, &plan, held, request).map(|(h, s)| (Round2State::Ed25519(h), s))
        }
        Round1State::Ristretto255(held) => {
            round2_with(state, &plan, held, request).map(|(h, s)| (Round2State::Ristretto255(h), s))
        }
    };
    let (next, sealed) = match result {
        Ok(done) => done,
        Err(refusal) => {
            state.dkg.settle(session, generation, Phase::Failed);
            tracing::warn!(session, reason = ?refusal, "DKG round 2 refused");
            return Err(refusal);
        }
    };
    if !state.dkg.settle(session, generation, Phase::Round2(next)) {
        return Err(deleted_meanwhile(session));
    }
    tracing::info!(session, index = plan.own, "DKG round 2");
    Ok(DkgRound2 {
        custodian_id: state.id.clone(),
        index: plan.own,
        sealed,
    })
}

fn deleted_meanwhile(session: &str) -> DkgRefusal {
    DkgRefusal::UnknownSession(format!(
        "DKG session {session:?} was deleted (or expired) while this step ran"
    ))
}

/// A relayed set must hold exactly the `expected` indices, once each.
fn check_set(
    plan: &Plan,
    set: &[DkgPackage],
    expected: impl Iterator<Item = u16>,
) -> Result<(), DkgRefusal> {
    let mut seen = BTreeSet::new();
    for package in set {
        if !seen.insert(package.index) {
            return Err(DkgRefusal::BadRequest(format!(
                "participant {} appears more than once",
                package.index
            )));
        }
    }
    let expected: BTreeSet<u16> = expected.collect();
    if seen != expected {
        let missing: Vec<String> = expected
            .difference(&seen)
            .map(|&i| plan.blame(i, "").id)
            .collect();
        let unknown: Vec<u16> = seen.difference(&expected).copied().collect();
        return Err(DkgRefusal::BadRequest(format!(
            "expected one package from each of participants {:?} (this custodian is {}); missing: [{}], unexpected indices: {unknown:?}",
            expected,
            plan.own,
            missing.join(", ")
        )));
    }
    Ok(())
}

fn round2_with<S: Suite>(
    state: &State,
    plan: &Plan,
    held: Round1Held<S>,
    request: &DkgRound2Request,
) -> Result<(Round2Held<S>, Vec<DkgPackage>), DkgRefusal> {
    let own = request.round1.iter().find(|p| p.index == plan.own);
    if own.is_none_or(|p| p.package != held.package) {
        return Err(DkgRefusal::Equivocation {
            detail: format!(
                "the relayed round-1 set holds a package for this custodian (index {}) other than the one it sent",
                plan.own
            ),
            culprits: Vec::new(),
        });
    }
    let mut round1 = BTreeMap::new();
    let mut culprits = Vec::new();
    for p in request.round1.iter().filter(|p| p.index != plan.own) {
        match dkg::Round1Package::<S>::from_bytes(&p.package) {
            Ok(package) => {
                round1.insert(p.index, package);
            }
            Err(e) => culprits.push(plan.blame(p.index, format!("malformed round-1 package: {e}"))),
        }
    }
    if !culprits.is_empty() {
        return Err(participant_failed(culprits));
    }
    let (secret, outgoing) = dkg::part2(held.secret, &round1).map_err(|e| plan.fault(e))?;
    let digest = round1_digest(&plan.start, &request.round1);
    let corrupt_for = plan
        .others()
        .next()
        .filter(|_| state.hooks.corrupt_dkg.load(Ordering::Relaxed));
    let now = vault::unix_now();
    let mut sealed = Vec::with_capacity(outgoing.len());
    for (&to, package) in &outgoing {
        let peer = plan
            .peers
            .get(&to)
            .ok_or_else(|| internal("part 2 made a package for an unknown participant"))?;
        let mut bytes = package.to_bytes();
        if corrupt_for == Some(to) {
            tracing::warn!(
                key_id = plan.start.key_id,
                to,
                "fault injection: sending a DKG share off this custodian's commitment"
            );
            corrupt_share::<S>(&mut bytes);
        }
        let metadata = Metadata {
            split_id: digest.first_chunk().copied().unwrap_or_default(),
            key_id: plan.start.key_id.clone(),
            epoch: plan.start.version,
            scheme: plan.scheme,
            index: to,
            threshold: plan.start.threshold,
            shares: plan.participants(),
            recipient: Some(RecipientInfo {
                id: peer.id.clone(),
                fingerprint: peer.recipient.fingerprint(),
            }),
            created_at: now,
            expires_at: None,
            commitment: digest,
            label: format!(
                "dkg round 2 of key {} version {} from {}",
                plan.start.key_id, plan.start.version, state.id
            ),
        };
        let envelope = Envelope::seal(
            metadata,
            &bytes,
            Some(&peer.recipient),
            &state.keys.identity,
            &mut rand::rng(),
        )
        .map_err(internal)?;
        sealed.push(DkgPackage {
            index: to,
            package: envelope.encode(),
        });
    }
    Ok((
        Round2Held {
            secret,
            round1,
            digest,
        },
        sealed,
    ))
}

/// Fault injection: changes the secret share in an encoded round-2
/// package so that it still decodes but no longer matches the sender's
/// commitment. The encoding ends with the scalar, little-endian: flip one
/// low bit of its first byte, the first that keeps it canonical.
fn corrupt_share<S: Suite>(bytes: &mut Zeroizing<Vec<u8>>) {
    let Some(at) = bytes.len().checked_sub(32) else {
        return;
    };
    for bit in 0..8 {
        let mut candidate = bytes.clone();
        if let Some(byte) = candidate.get_mut(at) {
            *byte ^= 1 << bit;
        }
        if dkg::Round2Package::<S>::from_bytes(&candidate).is_ok() {
            *bytes = candidate;
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// Finish.

/// `POST /v1/dkg/{session}/finish`: opens and checks the round-2
/// envelopes, derives the key share and the group, stores the share and
/// answers the group.
///
/// The step runs on a task of its own: if the request is dropped (the
/// coordinator gave up waiting), it still ends with the session settled —
/// finished with its share stored, or failed — so that an abort finds the
/// share to delete.
pub(crate) async fn finish(
    state: &Arc<State>,
    session: &str,
    request: DkgFinish,
) -> Result<DkgDone, DkgRefusal> {
    check_session_id(session)?;
    let (state, session) = (Arc::clone(state), session.to_owned());
    to_completion("DKG last round", async move {
        finish_step(&state, &session, request).await
    })
    .await
    .map_err(internal)?
}

async fn finish_step(
    state: &Arc<State>,
    session: &str,
    request: DkgFinish,
) -> Result<DkgDone, DkgRefusal> {
    let Taken {
        plan,
        generation,
        phase,
    } = state.dkg.take(session, Step::Finish, |plan| {
        check_set(plan, &request.round2, plan.others())
    })?;
    let Phase::Round2(held) = phase else {
        return Err(internal("a session taken to finish is not at round 2"));
    };
    let fail = |refusal: DkgRefusal| {
        state.dkg.settle(session, generation, Phase::Failed);
        tracing::warn!(session, reason = ?refusal, "DKG last round refused");
        refusal
    };
    let derived = {
        let state = Arc::clone(state);
        let plan = Arc::clone(&plan);
        tokio::task::spawn_blocking(move || derive(&state, &plan, held, &request))
            .await
            .map_err(|_| internal("the DKG task failed"))
            .and_then(|derived| derived)
    };
    let Derived {
        bytes,
        shard,
        group,
    } = derived.map_err(fail)?;
    let (key_id, version) = (plan.start.key_id.as_str(), plan.start.version);
    let shard = match state
        .vault
        .store(key_id, version, bytes.into(), shard)
        .await
    {
        Ok(Stored::New(shard) | Stored::Again(shard)) => shard,
        Err(StoreError::Conflict { held }) => {
            return Err(fail(DkgRefusal::Conflict(format!(
                "a share (digest {}) was stored for key {key_id:?} version {version} while the DKG ran",
                hex::encode(held)
            ))));
        }
        Err(StoreError::Io(e)) => return Err(fail(internal(e))),
    };
    let digest = shard.digest;
    let stall = state.hooks.stall_dkg_finish_ms.load(Ordering::Relaxed);
    if stall > 0 {
        tracing::warn!(
            session,
            stall_ms = stall,
            "fault injection: stalling the DKG's last round after storing the share"
        );
        tokio::time::sleep(Duration::from_millis(stall)).await;
    }
    if !state
        .dkg
        .settle(session, generation, Phase::Finished { digest })
    {
        // Deleted while finishing: the abort found nothing to delete yet.
        state
            .delete_share(key_id, version, Some(digest))
            .await
            .map_err(internal)?;
        return Err(deleted_meanwhile(session));
    }
    let metadata = shard.metadata.to_canonical_bytes().map_err(internal)?;
    tracing::info!(
        session,
        key_id,
        version,
        index = shard.index,
        digest = %hex::encode(digest),
        "DKG finished: stored the share"
    );
    Ok(DkgDone {
        custodian_id: state.id.clone(),
        index: plan.own,
        group,
        metadata,
        digest,
    })
}

/// The share the last round derived, sealed, ready to store.
struct Derived {
    /// The stored envelope.
    bytes: Vec<u8>,
    /// It, as the vault holds it.
    shard: vault::Held,
    /// The group's public side.
    group: Vec<u8>,
}

fn derive(
    state: &State,
    plan: &Plan,
    held: Round2State,
    request: &DkgFinish,
) -> Result<Derived, DkgRefusal> {
    // `part3` checked every share against its sender's commitment; the
    // share and group are held as derived (the envelope is checked like
    // any other at every start).
    let (group, share, held_share) = match held {
        Round2State::Ed25519(held) => {
            let (share, group) = finish_with(state, plan, &held, request)?;
            (
                group.to_bytes(),
                share.to_bytes(),
                scalar::HeldShare::Ed25519 { share, group },
            )
        }
        Round2State::Ristretto255(held) => {
            let (share, group) = finish_with(state, plan, &held, request)?;
            (
                group.to_bytes(),
                Zeroizing::new(share.to_bytes().to_vec()),
                scalar::HeldShare::Ristretto255 { share, group },
            )
        }
    };
    let package = scalar::encode_dkg_package(&group, &share);
    let commitment = scalar::group_commitment(plan.start.kind, &group);
    let identity = &state.keys.identity;
    let metadata = plan.share_metadata(state, commitment, vault::unix_now());
    let envelope = Envelope::seal(
        metadata.clone(),
        &package,
        Some(&identity.recipient()),
        identity,
        &mut rand::rng(),
    )
    .map_err(internal)?;
    let bytes = envelope.encode();
    let shard = vault::Held::own(&bytes, metadata, held_share);
    Ok(Derived {
        bytes,
        shard,
        group,
    })
}

/// Why one sender's round-2 envelope is refused.
enum Culprit {
    /// Not its own, does not verify or open, or for another slot.
    Failed(String),
    /// It commits to another round-1 set.
    Equivocated(String),
}

fn finish_with<S: Suite>(
    state: &State,
    plan: &Plan,
    held: &Round2Held<S>,
    request: &DkgFinish,
) -> Result<(S::KeyShare, S::GroupKey), DkgRefusal> {
    let mut round2 = BTreeMap::new();
    let mut failed = Vec::new();
    let mut equivocated = Vec::new();
    for p in &request.round2 {
        match open_round2::<S>(state, plan, &held.digest, p) {
            Ok(package) => {
                round2.insert(p.index, package);
            }
            Err(Culprit::Failed(reason)) => failed.push(plan.blame(p.index, reason)),
            Err(Culprit::Equivocated(reason)) => equivocated.push(plan.blame(p.index, reason)),
        }
    }
    if !failed.is_empty() {
        failed.extend(equivocated);
        return Err(participant_failed(failed));
    }
    if !equivocated.is_empty() {
        let named: Vec<&str> = equivocated.iter().map(|c| c.id.as_str()).collect();
        return Err(DkgRefusal::Equivocation {
            detail: format!(
                "the round-2 envelopes of {} commit to another round-1 set than this custodian saw: the relay showed the participants different sets",
                named.join(", ")
            ),
            culprits: equivocated,
        });
    }
    dkg::part3(&held.secret, &held.round1, &round2).map_err(|e| plan.fault(e))
}

/// Opens sender `p.index`'s round-2 envelope and checks it: signed by the
/// sender's own key (then `open` verifies the signature and decrypts), for
/// this custodian, this key version, index, `t` and `n`, and committing to
/// the round-1 set this custodian saw.
fn open_round2<S: Suite>(
    state: &State,
    plan: &Plan,
    digest: &[u8; 32],
    p: &DkgPackage,
) -> Result<dkg::Round2Package<S>, Culprit> {
    let sender = plan
        .peers
        .get(&p.index)
        .ok_or_else(|| Culprit::Failed("not a participant".to_owned()))?;
    let envelope = Envelope::decode(&p.package)
        .map_err(|e| Culprit::Failed(format!("its round-2 envelope is malformed: {e}")))?;
    if envelope.signer() != sender.recipient.signing_key_bytes() {
        return Err(Culprit::Failed(format!(
            "its round-2 envelope is signed by {}, not by its own key",
            hex::encode(envelope.signer())
        )));
    }
    let not_for_me =
        || Culprit::Failed("its round-2 envelope is not sealed to this custodian".to_owned());
    let plaintext = envelope
        .open(Some(&state.keys.identity))
        .map_err(|e| match e {
            symbolon_envelope::Error::BadSignature => {
                Culprit::Failed("the signature of its round-2 envelope does not verify".to_owned())
            }
            symbolon_envelope::Error::NotRecipient => not_for_me(),
            other => Culprit::Failed(format!("its round-2 envelope does not open: {other}")),
        })?;
    let metadata = envelope.metadata();
    if metadata.recipient.as_ref().is_none_or(|r| r.id != state.id) {
        return Err(not_for_me());
    }
    same("scheme", metadata.scheme.as_str(), plan.scheme.as_str())?;
    same(
        "key id",
        metadata.key_id.as_str(),
        plan.start.key_id.as_str(),
    )?;
    same("version", metadata.epoch, plan.start.version)?;
    same("index", metadata.index, plan.own)?;
    same("threshold", metadata.threshold, plan.start.threshold)?;
    same("shares", metadata.shares, plan.participants())?;
    if metadata.commitment != *digest {
        return Err(Culprit::Equivocated(
            "its round-2 envelope commits to another round-1 set than this custodian saw"
                .to_owned(),
        ));
    }
    dkg::Round2Package::<S>::from_bytes(&plaintext)
        .map_err(|e| Culprit::Failed(format!("its round-2 package is malformed: {e}")))
}

/// A round-2 envelope's metadata `field` must be what this session expects.
fn same<T: PartialEq + fmt::Debug>(field: &str, found: T, expected: T) -> Result<(), Culprit> {
    if found == expected {
        Ok(())
    } else {
        Err(Culprit::Failed(format!(
            "its round-2 envelope names {field} {found:?}, not {expected:?}"
        )))
    }
}

// ---------------------------------------------------------------------------
// Abort.

/// `DELETE /v1/dkg/{session}`: drops the session, and the share it stored
/// if it finished (only that share: one stored since is kept) with its
/// nonces. Nothing to drop is fine. Runs on a task of its own, so a dropped
/// request cannot forget the session but keep its share.
///
/// # Errors
///
/// [`crate::Error::Write`] if the share or its nonces cannot be deleted;
/// the session is then kept, so that a retried abort deletes the share.
pub(crate) async fn abort(state: &Arc<State>, session: &str) -> Result<(), crate::Error> {
    let (state, session) = (Arc::clone(state), session.to_owned());
    to_completion("DKG abort", async move {
        let Some(removed) = state.dkg.remove(&session) else {
            return Ok(());
        };
        let plan = Arc::clone(&removed.plan);
        let (key_id, version) = (plan.start.key_id.as_str(), plan.start.version);
        if let Phase::Finished { digest } = removed.phase {
            match state.delete_share(key_id, version, Some(digest)).await {
                Ok(true) => tracing::info!(key_id, version, "deleted the share of an aborted DKG"),
                Ok(false) => {}
                Err(e) => {
                    // Kept: the coordinator's retried abort deletes the share.
                    state.dkg.restore(&session, removed);
                    return Err(e);
                }
            }
        }
        tracing::info!(session, key_id, version, "DKG session deleted");
        Ok(())
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(key_id: &str) -> Arc<Plan> {
        Arc::new(Plan {
            start: DkgStart {
                key_id: key_id.to_owned(),
                version: 1,
                kind: KeyKind::Ed25519,
                threshold: 2,
                participants: Vec::new(),
                label: String::new(),
            },
            scheme: Scheme::FrostEd25519,
            own: 1,
            peers: BTreeMap::new(),
        })
    }

    /// An expired session goes at the next heartbeat's `expire`, without
    /// any other access; a live one stays.
    #[test]
    fn expired_sessions_are_dropped_by_expire() {
        let sessions = Sessions::default();
        sessions.open("old", plan("k1"), Phase::Failed).unwrap();
        sessions.open("new", plan("k2"), Phase::Failed).unwrap();
        if let Some(old) = sessions.lock().sessions.get_mut("old") {
            old.expires = Instant::now();
        }
        sessions.expire();
        let inner = sessions.lock();
        assert!(!inner.sessions.contains_key("old"));
        assert!(inner.sessions.contains_key("new"));
    }

    /// A session put back after a failed abort is found by the next abort,
    /// but never replaces a session opened under its id meanwhile.
    #[test]
    fn a_restored_session_is_found_again_but_replaces_nothing() {
        let sessions = Sessions::default();
        sessions
            .open("s", plan("k"), Phase::Finished { digest: [1; 32] })
            .unwrap();
        let removed = sessions.remove("s").unwrap();
        sessions.restore("s", removed);
        let again = sessions.remove("s").unwrap();
        assert!(matches!(again.phase, Phase::Finished { digest } if digest == [1; 32]));

        sessions.open("s", plan("k"), Phase::Failed).unwrap();
        sessions.restore("s", again);
        let kept = sessions.remove("s").unwrap();
        assert!(matches!(kept.phase, Phase::Failed));
    }

    /// The fault hook's share decodes but fails the recipient's check,
    /// naming the sender.
    #[test]
    fn a_corrupted_share_is_caught_naming_its_sender() {
        fn run<S: Suite>() {
            let mut rng = rand::rng();
            let mut secrets = BTreeMap::new();
            let mut packages = BTreeMap::new();
            for i in 1..=3u16 {
                let (secret, package) = dkg::part1::<S, _>(i, 2, 3, &mut rng).unwrap();
                secrets.insert(i, secret);
                packages.insert(i, package);
            }
            let others = |i: u16| -> BTreeMap<u16, dkg::Round1Package<S>> {
                packages
                    .iter()
                    .filter(|(j, _)| **j != i)
                    .map(|(j, p)| (*j, p.clone()))
                    .collect()
            };
            let (secret3, _) = dkg::part2(secrets.remove(&3).unwrap(), &others(3)).unwrap();
            let (_, from1) = dkg::part2(secrets.remove(&1).unwrap(), &others(1)).unwrap();
            let (_, from2) = dkg::part2(secrets.remove(&2).unwrap(), &others(2)).unwrap();
            let mut bytes = from1[&3].to_bytes();
            let before = bytes.clone();
            corrupt_share::<S>(&mut bytes);
            assert_ne!(*bytes, *before);
            let round2 = BTreeMap::from([
                (1, dkg::Round2Package::<S>::from_bytes(&bytes).unwrap()),
                (
                    2,
                    dkg::Round2Package::<S>::from_bytes(&from2[&3].to_bytes()).unwrap(),
                ),
            ]);
            assert_eq!(
                dkg::part3(&secret3, &others(3), &round2).err(),
                Some(symbolon_threshold::Error::InvalidSecretShare { index: 1 })
            );
        }
        run::<dkg::Ed25519>();
        run::<dkg::Ristretto255>();
    }
}
