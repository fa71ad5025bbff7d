/* Strand plugin SDK: everything a stage plugin needs, in one include. */
#ifndef STRAND_SDK_H
#define STRAND_SDK_H

#include <strand/abi.h>
#include <strand/stage.h>
#include <strand/host.h>

#endif /* STRAND_SDK_H */
