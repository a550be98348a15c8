// SPDX-License-Identifier: GPL-2.0

//! Suite `kho_radix_concurrency`: kthreads adding and deleting on one
//! tree through the exported C API.

use super::*;

/// Number of concurrent workers.
const WORKERS: usize = 4;
/// Keys per worker in the interleaved range; they straddle leaf boundaries.
const INTERLEAVED: u64 = 3000;
/// Keys every worker adds and deletes again.
const CHURN: u64 = 1024;
/// Keys every worker adds.
const SHARED: u64 = 512;
/// Keys per worker in its own level-3 subtree.
const OWN: u64 = 64;

/// Base keys of the ranges of the concurrency test.
const INTERLEAVED_BASE: u64 = key_of(0x10_0000, 0) + 3 * BITMAP_BITS as u64 - 5000;
const CHURN_BASE: u64 = key_of(0x80_0000, 0) - 300;
const SHARED_BASE: u64 = key_of(0x40_0000, 3);

/// Key `j` of worker `id` in the interleaved range: workers share bitmap
/// words.
const fn interleaved_key(id: usize, j: u64) -> u64 {
    INTERLEAVED_BASE + j * WORKERS as u64 + id as u64
}

/// Key `j` of worker `id` in its own level-3 subtree.
const fn own_key(id: usize, j: u64) -> u64 {
    key_of(((id as u64 + 1) << 36) | (j * 977), 0)
}

/// One kthread of the concurrency test.
struct Worker {
    tree: *mut Tree,
    id: usize,
    errors: u32,
    done: bindings::completion,
}

/// Thread function of a [`Worker`].
///
/// # Safety
///
/// `data` points to a [`Worker`] with an initialised `tree` and `done`, that
/// stays valid until `done` is completed and that nothing else accesses
/// until then.
unsafe extern "C" fn worker_fn(data: *mut c_void) -> c_int {
    let w = data.cast::<Worker>();
    // SAFETY: Guaranteed by the caller; `tree` is an initialised Rust tree,
    // whose API takes its mutex.
    let (tree, id) = unsafe { ((*w).tree, (*w).id) };
    let add = |key: u64| -> u32 {
        // SAFETY: See above.
        u32::from(unsafe { bindings::kho_radix_add_key(tree, key as c_ulong) } != 0)
    };
    let del = |key: u64| {
        // SAFETY: See above.
        unsafe { bindings::kho_radix_del_key(tree, key as c_ulong) }
    };
    let mut errors = 0;
    for j in 0..INTERLEAVED {
        errors += add(interleaved_key(id, j));
        if j < CHURN {
            // Every worker adds a churn key and then deletes it, so the last
            // operation on it is a delete whatever the interleaving.
            let k = CHURN_BASE + (j + id as u64 * 257) % CHURN;
            errors += add(k);
            del(k);
        }
        if j < SHARED {
            errors += add(SHARED_BASE + (j + id as u64 * 131) % SHARED);
        }
        if j < OWN {
            errors += add(own_key(id, j));
        }
    }
    for j in (1..INTERLEAVED).step_by(2) {
        del(interleaved_key(id, j));
    }
    // SAFETY: As above; `w` is not touched after `complete()`.
    unsafe {
        (*w).errors = errors;
        bindings::complete(&raw mut (*w).done);
    }
    0
}

/// Runs the workers on `tree` and returns the number of failed adds.
fn run_workers(tree: &TestTree) -> Result<u32> {
    let mut workers = KVec::with_capacity(WORKERS, GFP_KERNEL)?;
    for id in 0..WORKERS {
        workers.push(
            Worker {
                tree: tree.tree,
                id,
                errors: 0,
                // SAFETY: All zeroes is a valid value for a `struct
                // completion`; `init_completion()` below initialises it.
                done: unsafe { core::mem::zeroed() },
            },
            GFP_KERNEL,
        )?;
    }
    // The vector does not grow any more, so the workers stay in place.
    let base = workers.as_mut_ptr();
    let mut started = 0;
    let mut res = Ok(());
    for id in 0..WORKERS {
        // SAFETY: `id < WORKERS == workers.len()`.
        let w = unsafe { base.add(id) };
        // SAFETY: `w` is valid and no thread uses it yet.
        unsafe { bindings::init_completion(&raw mut (*w).done) };
        // SAFETY: `worker_fn` gets a `Worker` that is initialised, outlives
        // the thread's use of it (we wait for `done` below) and is not
        // accessed by us until then; the format takes one `int`.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(worker_fn),
                w.cast(),
                bindings::NUMA_NO_NODE,
                c"kho_radix_kunit/%d".as_char_ptr(),
                id as c_int,
            )
        };
        match from_err_ptr(task) {
            Ok(task) => {
                // SAFETY: `task` is a new kthread that was not started yet.
                unsafe { bindings::wake_up_process(task) };
                started += 1;
            }
            Err(e) => {
                res = Err(e);
                break;
            }
        }
    }
    let mut errors = 0;
    for id in 0..started {
        // SAFETY: `id < started <= workers.len()`, and the completion was
        // initialised before the worker started.
        unsafe { bindings::wait_for_completion(&raw mut (*base.add(id)).done) };
        // SAFETY: The worker completed `done`, after which it does not
        // access its `Worker` any more.
        errors += unsafe { (*base.add(id)).errors };
    }
    res.map(|()| errors)
}

#[kunit_tests(kho_radix_concurrency)]
mod tests {
    use super::*;

    /// Four kthreads on one tree: interleaved disjoint keys sharing bitmap
    /// words, own branches, keys all add and delete, keys all add.
    #[test]
    fn disjoint_and_overlapping_ranges() -> Result {
        let tree = TestTree::new(&RUST)?;
        let errors = run_workers(&tree)?;
        let mut expect = KVec::new();
        for id in 0..WORKERS {
            for j in (0..INTERLEAVED).step_by(2) {
                expect.push(interleaved_key(id, j), GFP_KERNEL)?;
            }
            for j in 0..OWN {
                expect.push(own_key(id, j), GFP_KERNEL)?;
            }
        }
        for j in 0..SHARED {
            expect.push(SHARED_BASE + j, GFP_KERNEL)?;
        }
        expect.sort_unstable();
        let mut unique: KVec<u64> = KVec::with_capacity(expect.len(), GFP_KERNEL)?;
        for &k in expect.iter() {
            if unique.last() != Some(&k) {
                unique.push(k, GFP_KERNEL)?;
            }
        }
        let expect = unique;
        let snap = tree.snapshot()?;
        pr_info!(
            "kunit: concurrency: {} workers, {} keys expected, {} in the tree\n",
            WORKERS,
            expect.len(),
            snap.keys.len()
        );
        assert_eq!(errors, 0);
        assert!(*snap.keys == *expect);
        Ok(())
    }
}
