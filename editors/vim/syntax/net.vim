" syntax/net.vim — Vim syntax for dlc's .net files (docs/language.md). The word lists are
" checked against the compiler's by tests/check_install.c.
if exists("b:current_syntax")
  finish
endif

syn keyword netKeyword input target param def train table
syn keyword netBuiltin sigmoid tanh relu exp log abs sqrt erf gelu silu softplus elu leaky_relu
syn keyword netBuiltin clamp max min softmax log_softmax sum mean cross_entropy dense lecun_tanh
syn keyword netBuiltin flatten reshape transpose permute concat slice batchnorm layernorm dropout
syn keyword netBuiltin conv global_avgpool subsample avgpool maxpool constant
syn keyword netType onehot
syn keyword netInit zeros const uniform normal lecun lecun_normal xavier xavier_normal he he_uniform
syn keyword netSetting data optimizer lr schedule warmup clip pixels batch epochs seed validation distort patience
syn keyword netSetting classes normalize average
syn keyword netValue mnist fashion_mnist cifar10 idx npy images sgd adam adamw rmsprop adagrad constant cosine step exponential range affine elastic ema none
syn match netArgName "\<[A-Za-z_][A-Za-z0-9_]*\ze\s*:\s*[^ \t\[]"
syn match netNumber "\<\d\+\(\.\d*\)\=\([eE][-+]\=\d\+\)\=\>"
syn match netNumber "\.\d\+\([eE][-+]\=\d\+\)\=\>"
syn match netOperator "[-+*/^@=]"
syn match netComment "#.*$" contains=netTodo
syn region netString start=+"+ skip=+\\[\\"]+ end=+"+ end=+$+ contains=netEscape oneline
syn match netEscape +\\[\\"]+ contained
syn keyword netTodo TODO FIXME XXX contained
syn region netTable start="\<table\>\s\+\w\+\s*=\s*{" end="}" contains=netKeyword,netCell,netComment
syn match netCell "[Xx.01]" contained

hi def link netKeyword Keyword
hi def link netBuiltin Function
hi def link netType Type
hi def link netInit Constant
hi def link netSetting Identifier
hi def link netValue Constant
hi def link netArgName Special
hi def link netNumber Number
hi def link netOperator Operator
hi def link netComment Comment
hi def link netString String
hi def link netEscape SpecialChar
hi def link netTodo Todo
hi def link netCell Special

let b:current_syntax = "net"
