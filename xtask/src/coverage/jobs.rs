//! Doing one piece of work per item on up to N threads at once, in item order, and starting no
//! new item once the run is interrupted.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
};

/// Runs `work` on every item of `items` with at most `jobs` running at once (each worker takes
/// the next item when it is done with one) and returns the results in item order. Once `stop()`
/// says so, no further item is started; those items get `None`.
pub(crate) fn run_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    stop: impl Fn() -> bool + Sync,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let workers = jobs.clamp(1, items.len().max(1));
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    if stop() {
                        break;
                    }
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(index) else {
                        break;
                    };
                    let result = work(item);
                    results
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())[index] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::{Barrier, atomic::AtomicBool};

    use super::*;

    #[test]
    fn every_item_is_done_once_in_order_and_at_most_n_at_once() {
        let items: Vec<u32> = (0..50).collect();
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let results = run_parallel(
            &items,
            3,
            || false,
            |item| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                thread::yield_now();
                running.fetch_sub(1, Ordering::SeqCst);
                item * 2
            },
        );
        let expected: Vec<Option<u32>> = items.iter().map(|it| Some(it * 2)).collect();
        assert_eq!(results, expected);
        assert!(most.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn n_items_really_run_together() {
        // Each item waits for the other: with fewer than two workers this would never return.
        let barrier = Barrier::new(2);
        let results = run_parallel(
            &[1, 2],
            2,
            || false,
            |item| {
                barrier.wait();
                *item
            },
        );
        assert_eq!(results, [Some(1), Some(2)]);
    }

    #[test]
    fn nothing_new_starts_after_a_stop() {
        let stopped = AtomicBool::new(false);
        let results = run_parallel(
            &[1, 2, 3, 4],
            1,
            || stopped.load(Ordering::SeqCst),
            |item| {
                if *item == 2 {
                    stopped.store(true, Ordering::SeqCst);
                }
                *item
            },
        );
        assert_eq!(results, [Some(1), Some(2), None, None]);
        assert!(run_parallel(&[] as &[u32], 4, || false, |it| *it).is_empty());
    }
}
