/* graft-cli demo: the built-in study on Fashion-MNIST. */
#include "graft-cli.h"

#include <stdio.h>

int
graft_cli_demo (int argc, char **argv)
{
  graft_cli_parse ("demo", NULL, "Run the built-in transfer-learning study on Fashion-MNIST.",
                   NULL, &argc, &argv);
  printf ("The demo study is not built yet; these are the devices it would use:\n\n");
  char *dev_argv[] = { (char *) "graft-cli devices", NULL };
  return graft_cli_devices (1, dev_argv);
}
