#include "commands.h"

int main(int argc, char** argv) { return ltr::RunMain(argc, argv); }
