/*
 * cli.h - the dossier command line (SPEC section 3).
 */
#ifndef DS_CLI_H
#define DS_CLI_H

/* Runs one command line; returns the process exit code (0 success, 1
 * internal error, 2 usage or configuration, 3 inputs quarantined, 4
 * refused, 5 not found). */
int ds_cli_main(int argc, char **argv);

#endif
