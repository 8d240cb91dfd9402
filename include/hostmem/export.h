/*
 * hostmem/export.h — HM_API marks every exported symbol. The library is built with
 * -fvisibility=hidden, so only what carries HM_API (and is listed in src/hostmem.map)
 * is part of the ABI.
 */
#ifndef HOSTMEM_EXPORT_H
#define HOSTMEM_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define HM_API __attribute__((visibility("default")))
#else
#define HM_API
#endif

#endif /* HOSTMEM_EXPORT_H */
