//! One allocator for the whole process.
//!
//! Parsing allocates and frees millions of small tree-sitter nodes; glibc's malloc spent
//! about a tenth of a run's instructions on them. mimalloc serves both Rust and the
//! tree-sitter C library, so nodes allocated by one are freed by the same allocator.

#![allow(unsafe_code)]

use std::ffi::c_void;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" fn ts_malloc(size: usize) -> *mut c_void {
    // SAFETY: plain C allocation; tree-sitter checks nothing else.
    unsafe { libmimalloc_sys::mi_malloc(size) }
}

unsafe extern "C" fn ts_calloc(n: usize, size: usize) -> *mut c_void {
    let Some(bytes) = n.checked_mul(size) else {
        return std::ptr::null_mut();
    };
    // SAFETY: as above; `mi_zalloc` returns zeroed memory, which is all calloc adds.
    unsafe { libmimalloc_sys::mi_zalloc(bytes) }
}

unsafe extern "C" fn ts_realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: `ptr` came from `ts_malloc`/`ts_calloc`/`ts_realloc`, all mimalloc.
    unsafe { libmimalloc_sys::mi_realloc(ptr, size) }
}

unsafe extern "C" fn ts_free(ptr: *mut c_void) {
    // SAFETY: `ptr` came from this same allocator family (or is null).
    unsafe { libmimalloc_sys::mi_free(ptr) }
}

/// Routes tree-sitter's C allocations to mimalloc. Call first thing in `main`, before
/// any parser exists.
pub fn install() {
    // SAFETY: runs once, on the main thread, before any tree-sitter object is created;
    // the four functions belong to one allocator family, which aligns like malloc and
    // never returns null for a non-zero size without aborting first.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: ts_malloc,
            calloc: ts_calloc,
            realloc: ts_realloc,
            free: ts_free,
        }));
    }
}
