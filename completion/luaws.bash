# bash completion for luaws: commands, recipe names and their arguments, profiles from
# ~/.aws/config, services and operations for `luaws help`. The candidates come from the luaws
# being completed (`luaws __complete WORD...`), so they follow its recipes and models.
_luaws() {
    local line=${COMP_LINE:0:COMP_POINT} words
    # Split on blanks only (COMP_WORDS also splits at '=' and ':'); a trailing blank starts a new word.
    read -r -a words <<< "$line"
    [[ $line =~ [[:space:]]$ ]] && words+=("")
    local IFS=$'\n'
    COMPREPLY=($("${words[0]}" __complete "${words[@]:1}" 2>/dev/null))
}
complete -o default -F _luaws luaws
