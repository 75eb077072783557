/* The symbolic name of an errno value ("ENOENT"), as Node's own system errors carry it in
 * `code`: one table for both addons' errors. Plain C so the C++ addon and the C one share it. */
#ifndef ENVLOCK_ERRNO_NAME_H
#define ENVLOCK_ERRNO_NAME_H

#ifdef __cplusplus
extern "C" {
#endif

/* "EUNKNOWN" for a value the table does not name. */
const char *el_errno_name(int err);

#ifdef __cplusplus
}
#endif

#endif
