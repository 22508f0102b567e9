/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the layers of xiova.ko share for testing: exports for the KUnit
 * module and counted fault injection.
 */
#ifndef _XIOVA_DEBUG_H_
#define _XIOVA_DEBUG_H_

#include <linux/atomic.h>
#include <linux/export.h>

/*
 * The KUnit suites live in their own module and test internal helpers
 * directly, so those helpers are exported, in a namespace of their own,
 * only to kernels that can run KUnit.
 */
#if IS_ENABLED(CONFIG_KUNIT)
#define EXPORT_SYMBOL_FOR_XIOVA_KUNIT(sym)	EXPORT_SYMBOL_NS_GPL(sym, XIOVA_INTERNAL)
#else
#define EXPORT_SYMBOL_FOR_XIOVA_KUNIT(sym)
#endif

/* True, once per unit, while a test has asked @counter for failures. */
static inline bool xiova_should_fail(atomic_t *counter)
{
	return unlikely(atomic_read(counter) > 0) &&
	       atomic_dec_if_positive(counter) >= 0;
}

#endif /* _XIOVA_DEBUG_H_ */
