/** Every state of a definition, those inside Map item processors included (names are unique). */
export function allStates(def: any): [string, any][] {
  return Object.entries<any>(def.States).flatMap(([name, state]) => [
    [name, state] as [string, any],
    ...(state.ItemProcessor ? allStates(state.ItemProcessor) : []),
  ]);
}
