/* lf_export.h - symbol visibility for the plugin ABI.
 *
 * The agent is built with -fvisibility=hidden; only functions marked LF_EXPORT are
 * visible to dlopen'ed output plugins (the executable is linked with --export-dynamic).
 */
#ifndef LF_EXPORT_H
#define LF_EXPORT_H

#define LF_EXPORT __attribute__((visibility("default")))

#endif
