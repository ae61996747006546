/*
 * main.c - the dossier binary: everything happens in ds_cli_main().
 */
#include "cli.h"

int main(int argc, char **argv)
{
	return ds_cli_main(argc, argv);
}
