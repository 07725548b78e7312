//! The control plane behind the API: Deployment, ReplicaSet,
//! StatefulSet, Job, PVC-binder, HPA and PDB controllers, a scheduler
//! and a kubelet stand-in on one default node, all on a virtual clock.
//!
//! One reconcile loop serves them all. It wakes on the store's change
//! feed and on a timer heap (every delay is in virtual seconds) — never
//! by polling — and reconciles one object at a time under the store lock,
//! writing through the API's own write path as `kube-controller-manager`
//! (`kubelet` and `kube-scheduler` for pods). Work is taken in key order
//! and names come from the instance's generator, so with a seeded
//! generator and a manual clock (`speed` 0, `POST /_sim/advance`) a
//! scenario replays to the same object history.
//!
//! # Caveats
//! A reconcile sees the whole store as of its start and writes at once;
//! real controllers act on informer caches a few milliseconds stale, so
//! a real cluster interleaves writes differently (same end states).

pub mod clock;
mod ctx;
mod deployment;
mod faults;
mod hpa;
mod job;
pub mod kubelet;
pub mod logs;
mod replicaset;
mod statefulset;
mod util;
mod volumes;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::sim::Sim;
use crate::store::{Event, Key};
use clock::{Micros, VirtualClock};
use ctx::Ctx;
use util::ids;

/// Which controller a piece of work is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ctl {
    Deployment,
    ReplicaSet,
    StatefulSet,
    Job,
    /// A PersistentVolumeClaim to bind.
    Volume,
    /// Scheduling and the kubelet, for one pod.
    Kubelet,
    /// Unscheduled pods of a namespace (a claim they wait for changed).
    Schedule,
    /// Every HorizontalPodAutoscaler of a namespace.
    Hpa,
    /// Every PodDisruptionBudget of a namespace.
    Pdb,
}

/// One reconcile: a controller and the object (or namespace) it is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Work {
    pub ctl: Ctl,
    pub key: Key,
}

/// Requests to the loop.
pub enum Command {
    /// Move virtual time forward, firing timers in order, then answer
    /// once nothing is left to do.
    Advance {
        micros: Micros,
        done: oneshot::Sender<()>,
    },
}

/// What the API side holds: the clock and the way to the loop.
pub struct Handle {
    pub clock: Arc<VirtualClock>,
    tx: mpsc::UnboundedSender<Command>,
}

impl Handle {
    /// Advances virtual time by `micros` and waits until the controllers
    /// have settled; false when the loop is not running.
    pub async fn advance(&self, micros: Micros) -> bool {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Command::Advance { micros, done }).is_err() {
            return false;
        }
        wait.await.is_ok()
    }
}

/// A handle and the receiving end for [`run`].
pub fn channel(clock: Arc<VirtualClock>) -> (Handle, mpsc::UnboundedReceiver<Command>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Handle { clock, tx }, rx)
}

/// Objects a fresh cluster with controllers has: the node and the
/// StorageClasses.
pub fn populate(sim: &Sim) {
    kubelet::populate(sim);
    volumes::populate(sim);
}

/// The loop's memory.
struct Loop {
    clock: Arc<VirtualClock>,
    dirty: BTreeSet<Work>,
    timers: BinaryHeap<Reverse<(Micros, u64, Work)>>,
    /// The earliest pending wake-up of each piece of work.
    pending: HashMap<Work, Micros>,
    seq: u64,
    event_seq: u64,
    events_seen: HashMap<String, (String, String)>,
    kubelet: kubelet::Pods,
}

/// Runs the controllers until the runtime stops.
pub async fn run(
    sim: Arc<Sim>,
    clock: Arc<VirtualClock>,
    mut rx: mpsc::UnboundedReceiver<Command>,
) {
    let mut events = sim.store().subscribe();
    let mut l = Loop {
        clock,
        dirty: BTreeSet::new(),
        timers: BinaryHeap::new(),
        pending: HashMap::new(),
        seq: 0,
        event_seq: 0,
        events_seen: HashMap::new(),
        kubelet: kubelet::Pods::default(),
    };
    l.resync(&sim);
    let mut commands_open = true;
    loop {
        l.settle(&sim, &mut events);
        let sleep = l
            .timers
            .peek()
            .and_then(|Reverse((due, _, _))| l.clock.real_until(*due));
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => l.route(&ev),
                Err(broadcast::error::RecvError::Lagged(_)) => l.resync(&sim),
                Err(broadcast::error::RecvError::Closed) => return,
            },
            cmd = rx.recv(), if commands_open => match cmd {
                Some(Command::Advance { micros, done }) => {
                    l.advance(&sim, &mut events, micros);
                    let _ = done.send(());
                }
                None => commands_open = false,
            },
            _ = async {
                match sleep {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
    }
}

impl Loop {
    fn mark(&mut self, ctl: Ctl, key: Key) {
        self.dirty.insert(Work { ctl, key });
    }

    /// Every object a controller cares about, after a start or a lag.
    fn resync(&mut self, sim: &Sim) {
        let ids = ids();
        let store = sim.store();
        let mut work = Vec::new();
        for (res, ctl) in [
            (ids.deployments, Ctl::Deployment),
            (ids.replicasets, Ctl::ReplicaSet),
            (ids.statefulsets, Ctl::StatefulSet),
            (ids.jobs, Ctl::Job),
            (ids.pvcs, Ctl::Volume),
            (ids.pods, Ctl::Kubelet),
        ] {
            for (k, _) in store.range(res, None) {
                work.push((ctl, k.clone()));
            }
        }
        for (res, ctl) in [(ids.hpas, Ctl::Hpa), (ids.pdbs, Ctl::Pdb)] {
            for (k, _) in store.range(res, None) {
                work.push((ctl, ns_key(res, &k.ns)));
            }
        }
        drop(store);
        for (ctl, k) in work {
            self.mark(ctl, k);
        }
    }

    /// Turns one change into work.
    fn route(&mut self, ev: &Event) {
        let ids = ids();
        let res = ev.key.res;
        let key = ev.key.clone();
        if res == ids.events {
            return;
        }
        let owner = || util::controller_of(&ev.new.to_map()).map(|(kind, name, _)| (kind, name));
        if res == ids.deployments {
            self.mark(Ctl::Deployment, key.clone());
            self.mark(Ctl::Hpa, ns_key(ids.hpas, &key.ns));
        } else if res == ids.replicasets {
            self.mark(Ctl::ReplicaSet, key.clone());
            if let Some((kind, name)) = owner()
                && kind == "Deployment"
            {
                self.mark(Ctl::Deployment, Ctx::key(ids.deployments, &key.ns, &name));
            }
        } else if res == ids.pods {
            self.mark(Ctl::Kubelet, key.clone());
            if ev.ty == crate::store::EventType::Deleted {
                // A claim being deleted may wait for its last pod.
                for claim in claims(&ev.new.to_map()) {
                    self.mark(Ctl::Volume, Ctx::key(ids.pvcs, &key.ns, &claim));
                }
            }
            self.mark(Ctl::Pdb, ns_key(ids.pdbs, &key.ns));
            match owner() {
                Some((kind, name)) if kind == "ReplicaSet" => {
                    self.mark(Ctl::ReplicaSet, Ctx::key(ids.replicasets, &key.ns, &name));
                }
                Some((kind, name)) if kind == "StatefulSet" => {
                    self.mark(Ctl::StatefulSet, Ctx::key(ids.statefulsets, &key.ns, &name));
                }
                Some((kind, name)) if kind == "Job" => {
                    self.mark(Ctl::Job, Ctx::key(ids.jobs, &key.ns, &name));
                }
                _ => {}
            }
        } else if res == ids.statefulsets {
            self.mark(Ctl::StatefulSet, key.clone());
            self.mark(Ctl::Hpa, ns_key(ids.hpas, &key.ns));
        } else if res == ids.jobs {
            self.mark(Ctl::Job, key);
        } else if res == ids.pvcs {
            self.mark(Ctl::Volume, key.clone());
            self.mark(Ctl::Schedule, ns_key(ids.pods, &key.ns));
        } else if res == ids.hpas {
            self.mark(Ctl::Hpa, ns_key(res, &key.ns));
        } else if res == ids.pdbs {
            self.mark(Ctl::Pdb, ns_key(res, &key.ns));
        }
    }

    /// Runs work and due timers until there is none, taking in every
    /// change the work itself causes.
    fn settle(&mut self, sim: &Sim, events: &mut broadcast::Receiver<Arc<Event>>) {
        // A bound on one burst, so that a controller bug cannot spin forever.
        for _ in 0..200_000 {
            loop {
                match events.try_recv() {
                    Ok(ev) => self.route(&ev),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => self.resync(sim),
                    Err(_) => break,
                }
            }
            let now = self.clock.now_micros();
            while let Some(Reverse((due, _, _))) = self.timers.peek() {
                if *due > now {
                    break;
                }
                if let Some(Reverse((due, _, w))) = self.timers.pop() {
                    if self.pending.get(&w) == Some(&due) {
                        self.pending.remove(&w);
                    }
                    self.dirty.insert(w);
                }
            }
            let Some(work) = self.dirty.pop_first() else {
                return;
            };
            self.reconcile(sim, work);
        }
    }

    /// Moves the clock timer by timer up to now + `micros`.
    fn advance(&mut self, sim: &Sim, events: &mut broadcast::Receiver<Arc<Event>>, micros: Micros) {
        self.settle(sim, events);
        let target = self.clock.now_micros() + micros.max(0);
        while let Some(Reverse((due, _, _))) = self.timers.peek() {
            if *due > target {
                break;
            }
            self.clock.advance_to(*due);
            self.settle(sim, events);
        }
        self.clock.advance_to(target);
        self.settle(sim, events);
    }

    fn reconcile(&mut self, sim: &Sim, work: Work) {
        let mut store = sim.store();
        let mut cx = Ctx {
            sim,
            store: &mut store,
            now: self.clock.now_micros(),
            timers: Vec::new(),
            deleted: false,
            event_seq: &mut self.event_seq,
            events_seen: &mut self.events_seen,
        };
        let key = &work.key;
        match work.ctl {
            Ctl::Deployment => deployment::reconcile(&mut cx, key),
            Ctl::ReplicaSet => replicaset::reconcile(&mut cx, key),
            Ctl::StatefulSet => statefulset::reconcile(&mut cx, key),
            Ctl::Job => job::reconcile(&mut cx, key),
            Ctl::Volume => volumes::reconcile(&mut cx, key),
            Ctl::Kubelet => kubelet::reconcile(&mut cx, &mut self.kubelet, key),
            Ctl::Schedule => kubelet::schedule_namespace(&mut cx, &mut self.kubelet, &key.ns),
            Ctl::Hpa => hpa::reconcile_hpas(&mut cx, &key.ns),
            Ctl::Pdb => hpa::reconcile_pdbs(&mut cx, &key.ns),
        }
        let Ctx {
            timers, deleted, ..
        } = cx;
        drop(store);
        for (due, w) in timers {
            if self.pending.get(&w).is_some_and(|p| *p <= due) {
                continue;
            }
            self.pending.insert(w.clone(), due);
            self.seq += 1;
            self.timers.push(Reverse((due, self.seq, w)));
        }
        if deleted {
            sim.gc.notify_one();
        }
    }
}

/// The claims a pod's volumes name.
fn claims(pod: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    util::pointer(pod, "/spec/volumes")
        .and_then(serde_json::Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName"))
                .filter_map(serde_json::Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The key standing for a whole namespace of `res`.
fn ns_key(res: crate::resources::ResourceId, ns: &str) -> Key {
    Ctx::key(res, ns, "")
}
