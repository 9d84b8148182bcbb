# bash completion for dlc (installed as share/bash-completion/completions/dlc): the commands,
# each command's options (as `dlc COMMAND --help` lists them; tests/check_install.c checks
# that the lists agree), .net files (dlc report: any file, the metrics), checkpoints and paths
# after the options that take them, and dlc predict's inputs (PNG and .npy files, folders)
# after its .net file.

_dlc_options() {
  case "$1" in
    train) echo "--epochs --batch --lr --seed --threads --data --metrics --report --profile --save --resume
                 --validation --patience --save-best --set --time --compile-only --Werror" ;;
    check) echo "--batch --data --set --scales --after --Werror" ;;
    graph) echo "--batch --set --after --dot --Werror" ;;
    ir) echo "--batch --set --stage --fn --Werror" ;;
    gradcheck) echo "--seed --Werror" ;;
    eval) echo "--batch --threads --data --set --load --repeat --confusion --metrics --predictions --errors
                --Werror" ;;
    predict) echo "--batch --threads --set --load --top --json --Werror" ;;
    compile) echo "--batch --set --time -o --out --Werror" ;;
    export) echo "--load --seed --pytorch -o --out --Werror" ;;
    profile) echo "--batch --data --set --steps --Werror" ;;
    augment-preview) echo "--data --set --out --Werror" ;;
    report) echo "--data --set -o --out --load --net --Werror" ;;
  esac
}

# Whether the command line already names its .net file (before the word being completed).
_dlc_has_net() {
  local i
  for ((i = 2; i < COMP_CWORD; i++)); do
    [[ "${COMP_WORDS[i]}" == *.net ]] && return 0
  done
  return 1
}

_dlc() {
  local cur prev commands
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  commands="train check graph ir gradcheck eval predict compile export profile augment-preview report"
  if [ "$COMP_CWORD" -eq 1 ]; then
    mapfile -t COMPREPLY < <(compgen -W "$commands --help --version" -- "$cur")
    return
  fi
  local command="${COMP_WORDS[1]}"
  case "$prev" in
    --data) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
    --load | --resume) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
    --save | --save-best | --metrics | -o | --out | --report | --predictions | --errors)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
    --net) mapfile -t COMPREPLY < <(compgen -f -X '!*.net' -- "$cur"; compgen -d -- "$cur"); return ;;
    --stage) mapfile -t COMPREPLY < <(compgen -W "graph llvm opt asm" -- "$cur"); return ;;
    --fn) mapfile -t COMPREPLY < <(compgen -W "dlc_forward dlc_train_step" -- "$cur"); return ;;
    --after) mapfile -t COMPREPLY < <(compgen -W "none fold simplify cse" -- "$cur"); return ;;
    --epochs | --batch | --lr | --seed | --threads | --validation | --patience | --repeat | --steps | --set | --top)
      return ;;
  esac
  if [[ "$cur" == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_dlc_options "$command") --help" -- "$cur")
  elif [ "$command" = predict ] && _dlc_has_net; then # the inputs: PNG and .npy files, folders
    mapfile -t COMPREPLY < <(compgen -f -X '!*.png' -- "$cur"; compgen -f -X '!*.PNG' -- "$cur"
                             compgen -f -X '!*.npy' -- "$cur"; compgen -d -- "$cur")
  elif [ "$command" = report ]; then # the metrics file
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  else # the .net file (and directories on the way to one)
    mapfile -t COMPREPLY < <(compgen -f -X '!*.net' -- "$cur"; compgen -d -- "$cur")
  fi
}

complete -o filenames -F _dlc dlc
