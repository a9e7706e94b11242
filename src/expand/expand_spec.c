/*
 * expand_spec.c: reading and checking expand/contract migration files
 * (see expand_spec.h).
 *
 * Each operation kind has a table of keys: name, type, required or not.  A
 * key that is not in the table is refused (a typo such as "defualt" must not
 * silently lose the default), so is a key of the wrong type.  The first
 * problem found is reported; the file is never partly applied.
 */
#include "expand/expand_spec.h"

#include "util/buf.h"
#include "util/xalloc.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum spec_type
{
	SPEC_STRING,
	SPEC_BOOL,
	SPEC_STRINGS,			/* non-empty array of strings */
	SPEC_OBJECT,
	SPEC_PAIRS,				/* non-empty array of {"from": s, "to": s} */
	SPEC_ANY_STRINGS		/* array of strings, may be empty */
} spec_type;

typedef struct spec_key
{
	const char *name;
	spec_type	type;
	int			required;
} spec_key;

typedef struct spec_op
{
	const char *name;
	spec_key	keys[12];
} spec_op;

#define COMMON_KEYS {"op", SPEC_STRING, 1}, {"schema", SPEC_STRING, 0}

static const spec_op spec_ops[] = {
	{"add_column", {COMMON_KEYS, {"table", SPEC_STRING, 1}, {"column", SPEC_STRING, 1},
					{"type", SPEC_STRING, 1}, {"default", SPEC_STRING, 0},
					{"not_null", SPEC_BOOL, 0}}},
	{"add_constraint", {COMMON_KEYS, {"table", SPEC_STRING, 1}, {"name", SPEC_STRING, 1},
						{"check", SPEC_STRING, 0}, {"foreign_key", SPEC_OBJECT, 0},
						{"unique", SPEC_STRINGS, 0}}},
	{"create_index", {COMMON_KEYS, {"table", SPEC_STRING, 1}, {"name", SPEC_STRING, 1},
					  {"columns", SPEC_STRINGS, 1}, {"unique", SPEC_BOOL, 0},
					  {"method", SPEC_STRING, 0}, {"where", SPEC_STRING, 0}}},
	{"change_type", {COMMON_KEYS, {"table", SPEC_STRING, 1}, {"column", SPEC_STRING, 1},
					 {"type", SPEC_STRING, 1}, {"using", SPEC_STRING, 0},
					 {"back", SPEC_STRING, 0}, {"new_column", SPEC_STRING, 0}}},
	{"rename_column", {COMMON_KEYS, {"table", SPEC_STRING, 1}, {"column", SPEC_STRING, 1},
					   {"to", SPEC_STRING, 1}}},
	{"move_columns_to_table", {COMMON_KEYS, {"table", SPEC_STRING, 1},
							   {"new_table", SPEC_STRING, 1}, {"columns", SPEC_PAIRS, 1},
							   {"reference", SPEC_STRING, 1}, {"new_key", SPEC_STRING, 0},
							   {"on_delete", SPEC_STRING, 0}}},
	{"sql", {COMMON_KEYS, {"table", SPEC_STRING, 0}, {"expand", SPEC_ANY_STRINGS, 1},
			 {"backfill", SPEC_STRING, 0}, {"validate", SPEC_ANY_STRINGS, 0},
			 {"verify", SPEC_STRING, 0}, {"contract", SPEC_ANY_STRINGS, 0},
			 {"rollback", SPEC_ANY_STRINGS, 0}}},
	{NULL, {{NULL, 0, 0}}}
};

static const char spec_ops_hint[] =
	"Built-in operations are add_column, add_constraint, create_index, change_type, "
	"rename_column, move_columns_to_table, and sql for raw SQL; see docs/expand-contract.md.";

const char *
expand_spec_str(const json_t *o, const char *k, const char *def)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : def;
}

int
expand_spec_bool(const json_t *o, const char *k, int def)
{
	json_t *v = json_object_get(o, k);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

static const char *
spec_type_words(spec_type t)
{
	switch (t)
	{
		case SPEC_STRING: return "a string";
		case SPEC_BOOL: return "true or false";
		case SPEC_STRINGS: return "a non-empty list of strings";
		case SPEC_OBJECT: return "an object";
		case SPEC_PAIRS: return "a non-empty list of {\"from\": ..., \"to\": ...} objects";
		case SPEC_ANY_STRINGS: return "a list of strings";
	}
	return "?";
}

static int
spec_strings_ok(const json_t *v, int allow_empty)
{
	if (!json_is_array(v) || (!allow_empty && json_array_size(v) == 0))
		return 0;
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
		if (!json_is_string(e) || json_string_length(e) == 0)
			return 0;
	return 1;
}

static int
spec_type_ok(spec_type t, const json_t *v)
{
	switch (t)
	{
		case SPEC_STRING: return json_is_string(v) && json_string_length(v) > 0;
		case SPEC_BOOL: return json_is_boolean(v);
		case SPEC_STRINGS: return spec_strings_ok(v, 0);
		case SPEC_ANY_STRINGS: return spec_strings_ok(v, 1);
		case SPEC_OBJECT: return json_is_object(v);
		case SPEC_PAIRS:
		{
			if (!json_is_array(v) || json_array_size(v) == 0)
				return 0;
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
			{
				if (!json_is_object(e) || json_object_size(e) != 2 ||
					!spec_type_ok(SPEC_STRING, json_object_get(e, "from")) ||
					!spec_type_ok(SPEC_STRING, json_object_get(e, "to")))
					return 0;
			}
			return 1;
		}
	}
	return 0;
}

static char *
spec_key_list(const spec_op *op)
{
	buf_t b = {0};
	for (const spec_key *k = op->keys; k->name; k++)
		buf_printf(&b, "%s%s", b.len ? ", " : "", k->name);
	return buf_steal(&b);
}

/* Checks the foreign_key object of add_constraint. */
static int
spec_check_fk(const json_t *fk, const char *path, int n, pgc_err *err)
{
	static const char *const keys[] = {"columns", "references", "ref_schema", "ref_columns",
										"on_delete", NULL};
	const char *k;
	json_t *v;
	json_object_foreach((json_t *) fk, k, v)
	{
		int known = 0;
		for (int i = 0; keys[i]; i++)
			known |= strcmp(keys[i], k) == 0;
		if (!known)
		{
			err_set(err, "migration file \"%s\": operation %d (add_constraint): unknown key \"%s\" in \"foreign_key\"",
					path, n, k);
			err_hint(err, "Keys of foreign_key are: columns, references, ref_schema, ref_columns, on_delete.");
			return -1;
		}
	}
	if (!spec_type_ok(SPEC_STRINGS, json_object_get(fk, "columns")) ||
		!spec_type_ok(SPEC_STRING, json_object_get(fk, "references")) ||
		!spec_type_ok(SPEC_STRINGS, json_object_get(fk, "ref_columns")) ||
		json_array_size(json_object_get(fk, "columns")) !=
		json_array_size(json_object_get(fk, "ref_columns")))
	{
		err_set(err, "migration file \"%s\": operation %d (add_constraint): \"foreign_key\" needs \"columns\", \"references\" and as many \"ref_columns\"",
				path, n);
		err_hint(err, "For example {\"columns\": [\"owner_id\"], \"references\": \"owners\", \"ref_columns\": [\"id\"]}.");
		return -1;
	}
	return 0;
}

static int
spec_check_op(const json_t *o, const char *path, int n, pgc_err *err)
{
	if (!json_is_object(o))
	{
		err_set(err, "migration file \"%s\": operation %d is not an object", path, n);
		err_hint(err, "Each operation is an object such as {\"op\": \"add_column\", ...}.");
		return -1;
	}
	json_t *opv = json_object_get(o, "op");
	if (!json_is_string(opv))
	{
		err_set(err, "migration file \"%s\": operation %d has no \"op\"", path, n);
		err_hint(err, "%s", spec_ops_hint);
		return -1;
	}
	const char *opname = json_string_value(opv);
	const spec_op *op = NULL;
	for (const spec_op *s = spec_ops; s->name; s++)
		if (strcmp(s->name, opname) == 0)
			op = s;
	if (!op)
	{
		err_set(err, "migration file \"%s\": operation %d: unknown operation \"%s\"", path, n, opname);
		err_hint(err, "%s", spec_ops_hint);
		return -1;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *) o, k, v)
	{
		const spec_key *key = NULL;
		for (const spec_key *s = op->keys; s->name; s++)
			if (strcmp(s->name, k) == 0)
				key = s;
		if (!key)
		{
			char *list = spec_key_list(op);
			err_set(err, "migration file \"%s\": operation %d (%s): unknown key \"%s\"", path, n, opname, k);
			err_hint(err, "Keys of %s are: %s.", opname, list);
			free(list);
			return -1;
		}
		if (!spec_type_ok(key->type, v))
		{
			err_set(err, "migration file \"%s\": operation %d (%s): \"%s\" must be %s",
					path, n, opname, k, spec_type_words(key->type));
			err_hint(err, "See docs/expand-contract.md for the keys of %s.", opname);
			return -1;
		}
	}
	for (const spec_key *s = op->keys; s->name; s++)
		if (s->required && !json_object_get(o, s->name))
		{
			err_set(err, "migration file \"%s\": operation %d (%s): \"%s\" is missing", path, n, opname, s->name);
			err_hint(err, "See docs/expand-contract.md for the keys of %s.", opname);
			return -1;
		}
	if (strcmp(opname, "add_constraint") == 0)
	{
		int kinds = !!json_object_get(o, "check") + !!json_object_get(o, "foreign_key") +
			!!json_object_get(o, "unique");
		if (kinds != 1)
		{
			err_set(err, "migration file \"%s\": operation %d (add_constraint): give exactly one of \"check\", \"foreign_key\" and \"unique\"",
					path, n);
			err_hint(err, "Add one constraint per operation.");
			return -1;
		}
		json_t *fk = json_object_get(o, "foreign_key");
		if (fk && spec_check_fk(fk, path, n, err) != 0)
			return -1;
	}
	const char *od = expand_spec_str(o, "on_delete", NULL);
	json_t *fk = json_object_get(o, "foreign_key");
	if (!od && fk)
		od = expand_spec_str(fk, "on_delete", NULL);
	if (od && strcmp(od, "cascade") != 0 && strcmp(od, "restrict") != 0 &&
		strcmp(od, "no action") != 0 && strcmp(od, "set null") != 0)
	{
		err_set(err, "migration file \"%s\": operation %d (%s): \"on_delete\" must be cascade, restrict, no action or set null",
				path, n, opname);
		err_hint(err, "Leave it out for cascade.");
		return -1;
	}
	if (strcmp(opname, "sql") == 0 && json_object_get(o, "backfill") && !json_object_get(o, "table"))
	{
		err_set(err, "migration file \"%s\": operation %d (sql): \"backfill\" needs \"table\"", path, n);
		err_hint(err, "The backfill runs in batches over the primary key of \"table\".");
		return -1;
	}
	return 0;
}

static int
spec_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > EXPAND_SPEC_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int
expand_spec_check(json_t *root, const char *path, pgc_err *err)
{
	if (!json_is_object(root))
	{
		err_set(err, "migration file \"%s\" must hold one JSON object", path);
		err_hint(err, "An expand/contract migration looks like {\"name\": \"...\", \"operations\": [...]}; see docs/expand-contract.md.");
		err->exit_status = EXIT_USAGE;
		return -1;
	}
	int rc = 0;
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v)
	{
		if (strcmp(k, "name") != 0 && strcmp(k, "description") != 0 && strcmp(k, "operations") != 0)
		{
			err_set(err, "migration file \"%s\": unknown key \"%s\"", path, k);
			err_hint(err, "A migration has the keys name, description and operations.");
			rc = -1;
			goto out;
		}
	}
	json_t *name = json_object_get(root, "name");
	if (!json_is_string(name) || !spec_name_ok(json_string_value(name)))
	{
		err_set(err, "migration file \"%s\": \"name\" is missing or not a valid name", path);
		err_hint(err, "A name is 1 to %d lower-case letters, digits and underscores, starting with a letter.",
				 EXPAND_SPEC_NAME_MAX);
		rc = -1;
		goto out;
	}
	json_t *desc = json_object_get(root, "description");
	if (desc && !json_is_string(desc))
	{
		err_set(err, "migration file \"%s\": \"description\" must be a string", path);
		err_hint(err, "Write the description as one string.");
		rc = -1;
		goto out;
	}
	json_t *ops = json_object_get(root, "operations");
	if (!json_is_array(ops) || json_array_size(ops) == 0)
	{
		err_set(err, "migration file \"%s\": \"operations\" must be a non-empty list", path);
		err_hint(err, "List the operations, for example [{\"op\": \"add_column\", ...}].");
		rc = -1;
		goto out;
	}
	size_t i;
	json_array_foreach(ops, i, v)
		if (spec_check_op(v, path, (int) i + 1, err) != 0)
		{
			rc = -1;
			goto out;
		}
out:
	if (rc != 0)
		err->exit_status = EXIT_USAGE;
	return rc;
}

json_t *
expand_spec_load(const char *path, char **checksum_out, pgc_err *err)
{
	*checksum_out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
	{
		err_set(err, "could not open migration file \"%s\": %s", path, strerror(errno));
		err_hint(err, "Give the path of an expand/contract migration file (JSON).");
		return NULL;
	}
	buf_t b = {0};
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&b, chunk, n);
	int rerr = ferror(f);
	fclose(f);
	if (rerr)
	{
		err_set(err, "could not read migration file \"%s\"", path);
		buf_free(&b);
		return NULL;
	}
	json_error_t jerr;
	json_t *root = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
	{
		err_set(err, "migration file \"%s\" is not valid JSON", path);
		err_detail(err, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		err_hint(err, "An expand/contract migration is one JSON object; see docs/expand-contract.md.");
		err->exit_status = EXIT_USAGE;
		buf_free(&b);
		return NULL;
	}
	if (expand_spec_check(root, path, err) != 0)
	{
		json_decref(root);
		buf_free(&b);
		return NULL;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_Digest(b.data ? b.data : "", b.len, md, &mdlen, EVP_sha256(), NULL);
	char *hex = xmalloc(mdlen * 2 + 1);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*checksum_out = hex;
	buf_free(&b);
	return root;
}
